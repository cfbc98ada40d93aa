using Exir.Tests;
using System.Text;

namespace Exir.Logs.Tests;

/// <summary>Synthetic log text with the headers and field lists the real products write.</summary>
internal static class LogSamples
{
    public const string IisFields = LogFixtureText.IisFields;

    public static string IisHeader(string fields = IisFields) => LogFixtureText.IisHeader(fields, "2021-03-03 00:00:01");

    public const string HttpProxyFields = LogFixtureText.HttpProxyFields;

    public const string HttpProxyFieldsE2013 = LogFixtureText.HttpProxyFieldsE2013;

    public static string HttpProxyHeader(string fields = HttpProxyFields, string version = "15.01.2176.002") => LogFixtureText.HttpProxyHeader(fields, version);

    /// <summary>One HttpProxy line built by field name; unnamed fields are empty. Values with commas or quotes are quoted.</summary>
    public static string HttpProxyLine(Dictionary<string, string> values, string fields = HttpProxyFields)
    {
        var names = fields.Split(',');
        return string.Join(',', names.Select(n => values.TryGetValue(n, out var v) ? Csv(v) : "")) + "\r\n";
    }

    public static string Csv(string v) => LogFixtureText.Csv(v);

    public static Stream Stream(string text, Encoding? encoding = null, bool bom = false)
    {
        encoding ??= new UTF8Encoding(false);
        var ms = new MemoryStream();
        if (bom) ms.Write(encoding.GetPreamble());
        var bytes = encoding.GetBytes(text);
        ms.Write(bytes);
        ms.Position = 0;
        return ms;
    }
}
