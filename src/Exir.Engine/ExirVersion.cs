using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Exir.Core;

namespace Exir.Engine;

/// <summary>The versions a report records: the tool's, and a digest of the rule files it ran with.</summary>
public static class ExirVersion
{
    public static string Tool { get; } =
        typeof(ExirVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(ExirVersion).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>A digest over every rule file's name and content: two reports with the same value used the same rules.</summary>
    public static string Rules(DataFiles rules)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = rules.List();
        var buffer = new byte[81920];
        foreach (var name in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            using var s = rules.Open(name);
            int n;
            while ((n = s.Read(buffer)) > 0) sha.AppendData(buffer.AsSpan(0, n));
        }
        return $"{files.Count} files, sha256:{Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}";
    }
}
