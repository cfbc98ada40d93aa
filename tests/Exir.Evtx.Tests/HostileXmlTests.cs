using System.Text;
using System.Xml;
using V = Exir.Evtx.Tests.EvtxBuilder.Value;

namespace Exir.Evtx.Tests;

/// <summary>
/// Record strings are the intruder's text: ESC, BEL and NUL cannot be carried by XML 1.0 at all (not even as
/// character references), and a terminal obeys them when the dump is printed. The XML stays well-formed and
/// shows them as \x1b-style escapes; hostile names, duplicate attributes and processing instructions too.
/// </summary>
public sealed class HostileXmlTests
{
    private static readonly DateTime T1 = new(2021, 3, 2, 1, 2, 3, DateTimeKind.Utc);

    /// <summary>UTF-16LE bytes as they are, lone surrogates included (Encoding.Unicode would replace them).</summary>
    private static V RawString(string s)
    {
        var bytes = new byte[s.Length * 2];
        for (int i = 0; i < s.Length; i++) { bytes[2 * i] = (byte)s[i]; bytes[2 * i + 1] = (byte)(s[i] >> 8); }
        return new V(0x01, bytes);
    }

    private const string Hostile = "cmd \u001b[2J\u001b]52;c;aGk=\u0007 nul\u0000 del\u007f csi\u009b31m cr\rover bidi\u202Efdp.exe <&> \"q\" tab\tline\nend";

    internal static byte[] HostileFile()
    {
        var b = new EvtxBuilder();
        b.Record(1, T1, r => r.Fragment().Template("hostile", t => t
            .Open("Event").CloseStart()
            .Open("System").CloseStart()
            .Open("EventID").CloseStart().Text("4688").End()
            .Open("Computer").CloseStart().Sub(0, 0x01).End()
            .End()
            .Open("EventData").CloseStart()
            .Open("Data", true).Attr("Name").Text("CommandLine").CloseStart().Sub(1, 0x01).End()
            .Open("Data", true).Attr("Name").Sub(2, 0x01).CloseStart().Text("in an attribute").End()
            .Open("Data", true).Attr("Name").Text("a").Attr("Name").Text("b").CloseStart().Text("duplicate attribute").End()
            .Open("Bad Name<\u001b>", true).Attr("x=\"y").Text("1").CloseStart().Text("hostile names").End()
            .Open("Data").CloseStart().CharRef('\u001b').CharRef('\u0000').Text("char refs").End()
            .End()
            .Pi("xml", "?> <injected/> \u0007")
            .End(),
            RawString("HOST\u0007\uD800"), RawString(Hostile), RawString("attr " + Hostile)).Eof());
        return b.Build();
    }

    [Fact]
    public void ControlCharactersInRecordsGiveWellFormedVisibleXml()
    {
        var record = Assert.Single(EvtxReader.ReadRecords(new MemoryStream(HostileFile())));
        var xml = record.ToXml();

        // Well-formed for a strict XML 1.0 parser (CheckCharacters is on by default).
        using (var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit }))
            while (reader.Read()) { }

        // Nothing a terminal obeys: no C0 but tab and line ends, no DEL, no C1, no bidi control, no lone surrogate.
        for (int i = 0; i < xml.Length; i++)
        {
            char c = xml[i];
            bool ok = c is '\t' or '\n' || (c == '\r' && i + 1 < xml.Length && xml[i + 1] == '\n')
                      || (char.IsHighSurrogate(c) && i + 1 < xml.Length && char.IsLowSurrogate(xml[i + 1]))
                      || (char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(xml[i - 1]))
                      || !(c < ' ' || c is >= '\u007f' and <= '\u009f' or >= '\u202a' and <= '\u202e' || char.IsSurrogate(c));
            Assert.True(ok, $"raw U+{(int)c:X4} at {i}: {xml}");
        }

        // The values are all there, readable: the escape shows what the intruder wrote.
        var doc = System.Xml.Linq.XDocument.Parse(xml);
        var data = doc.Root!.Element("EventData")!.Elements().ToList();
        // A bare CR is a legal XML character: written as &#xD; (the parser gives it back, the terminal shows the reference).
        Assert.Contains("cr&#xD;over", xml);
        var shown = @"cmd \x1b[2J\x1b]52;c;aGk=\x07 nul\x00 del\x7f csi\x9b31m cr" + "\rover" + @" bidi\u202efdp.exe <&> ""q"" tab" + "\tline\nend";
        Assert.Equal(shown, data[0].Value);
        Assert.Equal("attr " + shown, data[1].Attribute("Name")!.Value);
        Assert.Equal(@"\x1b\x00char refs", data[4].Value);
        Assert.StartsWith(@"HOST\x07", doc.Root.Element("System")!.Element("Computer")!.Value);
        Assert.Equal(2, data[2].Attributes().Count());
        Assert.Equal("hostile names", data[3].Value);
        // The processing instruction cannot end early or be an XML declaration.
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName == "injected");
    }

    [Fact]
    public void JsonOfTheSameRecordEscapesEveryControlCharacter()
    {
        var record = Assert.Single(EvtxReader.ReadRecords(new MemoryStream(HostileFile())));
        var json = record.ToJson();
        Assert.DoesNotContain(json, c => c < ' ' || c is >= '\u007f' and <= '\u009f');
        // As `exir evtx --format jsonl` writes it: UTF-8, where a lone surrogate becomes U+FFFD.
        using var doc = System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal(Hostile, doc.RootElement.GetProperty("CommandLine").GetString());
    }

    [Fact]
    public void RecordsOfTheCorpusStillParseWithAStrictReader()
    {
        // The real files hold a few control characters too (\x01 in DNS names, \x03 in policy values).
        var dir = Exir.Tests.TestPaths.InCorpus("evtx");
        int records = 0;
        foreach (var file in Directory.EnumerateFiles(dir, "*.evtx", SearchOption.AllDirectories))
            foreach (var r in EvtxReader.ReadRecords(file))
            {
                using var reader = XmlReader.Create(new StringReader(r.ToXml()));
                while (reader.Read()) { }
                records++;
            }
        Assert.True(records > 1000, records.ToString());
    }
}
