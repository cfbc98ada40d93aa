using System.Text;
using Exir.Tests;
using static Exir.Logs.Tests.LogSamples;

namespace Exir.Logs.Tests;

/// <summary>
/// The byte pre-filter (<see cref="LogReaderOptions.SearchBytes"/>) must hand over exactly the lines, fields, times
/// and counts the text pre-filter does (the reference: decode everything, lower-case, search), on well-formed logs,
/// random ones and hostile bytes, whatever the read sizes of the stream.
/// </summary>
public class ByteSearchDifferentialTests
{
    // Shaped like the log rules' literals: mixed case, punctuation, a trailing space, prefixes of each other.
    private static readonly string[] Literals =
        [".js ", "/owa/auth/", "ServerInfo~", "Server~", "powershell", "X-Rps-CAT", "bot/", "Slurp", "kernel", "DDIService.svc", "a%b"];

    /// <summary>Everything the reader tells its consumers, as text, so two readings compare in one assertion.</summary>
    internal static string Trace(byte[] log, LogFormat format, LogReaderOptions options, int trickleSeed = 0)
    {
        using var stream = trickleSeed == 0 ? new MemoryStream(log) : (Stream)new TrickleStream(log, trickleSeed);
        using var r = new LogReader(stream, format, options);
        var sb = new StringBuilder();
        while (r.Read())
        {
            sb.Append(r.LineNumber).Append('|').Append(r.Line).Append('|').Append(r.LowerLine).Append('|')
              .Append(r.Timestamp?.ToString("O")).Append('|').Append(r.Schema?.Count).Append('|').Append(r.FieldCount)
              .Append('|').Append(r.ColumnMismatch);
            for (int i = 0; i < r.FieldCount; i++) sb.Append('|').Append(r.Field(i));
            sb.Append('\n');
        }
        var s = r.Stats;
        sb.Append($"lines={s.Lines} malformed={s.MalformedLines} overlong={s.OverlongLines} binary={s.BinaryLines} ")
          .Append($"mismatch={s.ColumnMismatchLines} unparsed={s.UnparsedLines} truncated={s.TruncatedLastLine} encoding={s.Encoding} ")
          .Append($"first={s.First:O} last={s.Last:O} days={string.Join(',', s.Days.Order())} ")
          .Append($"software={r.Software} version={r.Version} type={r.LogType} host={r.FirstLineField("Host")}\n");
        foreach (var n in s.Notes) sb.Append("note: ").Append(n).Append('\n');
        return sb.ToString();
    }

    internal static void AssertSame(byte[] log, LogFormat format, IReadOnlyList<string> literals, bool percent, int trickleSeed = 0)
    {
        var options = new LogReaderOptions { Literals = literals, IncludePercentLines = percent, LowerCase = percent };
        var text = Trace(log, format, options with { SearchBytes = false }, trickleSeed);
        var bytes = Trace(log, format, options, trickleSeed);
        Assert.Equal(text, bytes);
    }

    private static void AssertSameAllWays(byte[] log, LogFormat format)
    {
        foreach (bool percent in new[] { false, true })
        {
            AssertSame(log, format, Literals, percent);
            AssertSame(log, format, Literals, percent, trickleSeed: 7);
            AssertSame(log, format, [], percent);
        }
    }

    private static string IisLine(int i, string stem, string query = "-", string ua = "Mozilla/5.0") =>
        $"2021-03-03 {i / 3600 % 24:00}:{i / 60 % 60:00}:{i % 60:00} 10.0.0.5 GET {stem} {query} 443 - 203.0.113.{i % 250} {ua} - 200 0 0 15";

    [Fact]
    public void TheBundledSampleLogsReadTheSame()
    {
        var root = Path.Combine(TestPaths.RepoRoot, "samples", "exch01");
        int logs = 0;
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var data = File.ReadAllBytes(file);
            var rel = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (LogFormatSniffer.Sniff(data.AsSpan(0, Math.Min(data.Length, 64 * 1024)), rel) is not { } format) continue;
            logs++;
            AssertSameAllWays(data, format);
        }
        Assert.True(logs >= 5, $"only {logs} sample logs found under {root}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomLogsReadTheSame(int seed)
    {
        // Lines built from literal fragments, escapes, directives, control and non-ASCII bytes, in time order.
        var rnd = new Random(seed);
        string[] pieces = ["/owa/", "auth/", ".js", " ", "ServerInfo", "~", "SERVER~", "Powershell", "x-rps-cat", "%41", "%2F", "%",
            "#", "bot", "/", "slurp", "\u212Aernel", "KERNEL", "\u0130", "é", "\0", "\r", "\t", "+", "DDIService.svc", "a%b", "ab"];
        var sb = new StringBuilder(IisHeader());
        for (int i = 0; i < 3000; i++)
        {
            if (rnd.Next(200) == 0) { sb.Append(IisHeader(rnd.Next(2) == 0 ? IisFields : "date time cs-uri-stem")); continue; }
            var stem = string.Concat(Enumerable.Range(0, rnd.Next(1, 6)).Select(_ => pieces[rnd.Next(pieces.Length)]));
            sb.Append(IisLine(i * 20, "/" + stem)).Append(rnd.Next(10) == 0 ? "\n" : "\r\n");
        }
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        // Some invalid UTF-8 as well: lone continuation bytes, a cut sequence before a newline.
        for (int k = 0; k < 20; k++) bytes[rnd.Next(bytes.Length)] = (byte)(0x80 + rnd.Next(0x80));
        AssertSameAllWays(bytes, LogFormat.IisW3c);
        AssertSame(bytes, LogFormat.IisW3c, Literals, true, trickleSeed: seed);
    }

    public static TheoryData<string, byte[]> Hostile()
    {
        var header = IisHeader();
        // Times keep increasing through each input: the coverage span is then the same whichever lines are sampled.
        int t = 0;
        string Lines(int n, string stem = "/owa/") => string.Concat(Enumerable.Range(0, n).Select(_ => IisLine(t++, stem) + "\r\n"));
        var junk = new byte[300_000];
        new Random(3).NextBytes(junk);
        return new()
        {
            { "binary junk", junk },
            { "junk after a header", [.. Encoding.UTF8.GetBytes(header + Lines(5)), .. junk, .. Encoding.UTF8.GetBytes(Lines(5, "/ecp/y.js"))] },
            { "zeroed stretch", [.. Encoding.UTF8.GetBytes(header + Lines(50)), .. new byte[100_000], .. Encoding.UTF8.GetBytes(Lines(50, "/ecp/y.js"))] },
            { "huge candidate lines", Encoding.UTF8.GetBytes(header + Lines(3) + IisLine(t++, "/ecp/y.js", new string('q', 70_000)) + "\r\n"
                + Lines(3) + IisLine(t++, "/ecp/y.js", new string('q', 300_000)) + "\r\n" + Lines(3, "/ecp/y.js")) },
            { "huge plain lines", Encoding.UTF8.GetBytes(header + Lines(3) + new string('q', 1_000_000) + "\r\n" + Lines(3, "/ecp/y.js") + new string('z', 40_000) + "\n" + Lines(2, "/ecp/y.js")) },
            { "huge non-ASCII lines", Encoding.UTF8.GetBytes(header + Lines(3) + new string('é', 40_000) + "\n" + IisLine(t++, "/ecp/y.js", new string('€', 70_000)) + "\n" + Lines(3, "/ecp/y.js")) },
            { "invalid UTF-8", [.. Encoding.UTF8.GetBytes(header), .. "2021-03-03 00:00:00 10.0.0.5 GET /ecp/"u8, 0xC3, 0x28, .. "y.js - 443\r\n"u8, 0xE2, 0x82, (byte)'\n',
                .. "2021-03-03 00:00:01 x /owa/auth/"u8, 0xF0, 0x9F, 0x98, (byte)' ', 0xFF, 0xFE, (byte)'\n', .. Encoding.UTF8.GetBytes(Lines(3, "/ecp/y.js"))] },
            { "UTF-16 LE", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(header + Lines(20) + Lines(2, "/ecp/y.js"))] },
            { "UTF-16 BE without BOM", Encoding.BigEndianUnicode.GetBytes(header + Lines(20) + Lines(2, "/ecp/y.js")) },
            { "two byte-order marks", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(header + Lines(3, "/ecp/y.js"))] },
            { "CR line ends only", Encoding.UTF8.GetBytes((header + Lines(20) + Lines(2, "/ecp/y.js")).Replace("\r\n", "\r")) },
            { "LF line ends", Encoding.UTF8.GetBytes((header + Lines(20) + Lines(2, "/ecp/y.js")).Replace("\r\n", "\n")) },
            { "mixed line ends, no final newline", Encoding.UTF8.GetBytes(header + Lines(5).Replace("\r\n", "\n") + "\r\r\n\n" + Lines(2, "/ecp/y.js") + IisLine(t++, "/ecp/z.js ")) },
            { "no header, last line cut", Encoding.UTF8.GetBytes(Lines(30) + Lines(2, "/ecp/y.js") + "2021-03-03 02:00:09 10.0.0.5 GET /owa/auth/x.aspx") },
            { "case-mapped non-ASCII", Encoding.UTF8.GetBytes(header + Lines(3) + IisLine(t++, "/\u212Aernel") + "\r\n" + IisLine(t++, "/\u0130") + "\r\n" + Lines(3)) },
            { "days in one file", Encoding.UTF8.GetBytes(header + Lines(5) + Lines(5).Replace("2021-03-03", "2021-03-04") + Lines(1, "/ecp/y.js").Replace("2021-03-03", "2021-03-05") + Lines(5).Replace("2021-03-03", "2021-03-06")) },
            { "empty", [] },
        };
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileInputReadsTheSame(string what, byte[] log)
    {
        _ = what;
        AssertSameAllWays(log, LogFormat.IisW3c);
    }

    [Fact]
    public void TheByteSearchFindsEveryLiteralCaseInsensitivelyAndNothingElse()
    {
        var search = Utf8CandidateSearch.TryCreate(["ServerInfo~", ".js ", "ab"], percent: false)!;
        Assert.Equal(40, search.IndexOf(Encoding.ASCII.GetBytes(new string('x', 40) + "serverINFO~" + new string('y', 40))));
        Assert.Equal(-1, search.IndexOf(Encoding.ASCII.GetBytes(new string('x', 40) + "serverINFO" + new string('y', 40))));
        Assert.Equal(-1, search.IndexOf(Encoding.ASCII.GetBytes(new string('x', 60) + "Server")));
        Assert.Equal(3, search.IndexOf("xyzAB"u8));
        Assert.Equal(70, search.IndexOf(Encoding.ASCII.GetBytes(new string('x', 70) + ".JS ")));
        // Non-ASCII and NUL bytes stop the search (their line is judged as text); '%' only when asked.
        Assert.Equal(50, search.IndexOf([.. Enumerable.Repeat((byte)'x', 50), 0xC3, 0xA9]));
        Assert.Equal(33, search.IndexOf([.. Enumerable.Repeat((byte)'x', 33), 0]));
        Assert.Equal(-1, search.IndexOf(Encoding.ASCII.GetBytes(new string('x', 50) + "%41")));
        var percent = Utf8CandidateSearch.TryCreate(["ab"], percent: true)!;
        Assert.Equal(50, percent.IndexOf(Encoding.ASCII.GetBytes(new string('x', 50) + "%41")));
        // An escape that cannot spell a letter or digit is no candidate; one cut by the end of the buffer may be.
        Assert.Equal(-1, percent.IndexOf(Encoding.ASCII.GetBytes(new string('x', 50) + "%2F%3A%20" + new string('x', 50))));
        Assert.Equal(50, percent.IndexOf(Encoding.ASCII.GetBytes(new string('x', 50) + "%")));
        // A directive: the position of its '#'.
        Assert.Equal(36, search.IndexOf(Encoding.ASCII.GetBytes(new string('x', 35) + "\n#Fields: x")));
        Assert.Null(Utf8CandidateSearch.TryCreate(["caf\u00e9"], percent: false));
    }

    [Fact]
    public void EveryPositionAndCaseOfEveryLiteralIsFound() => AssertFindsEveryLiteral(Utf8CandidateSearch.TryCreate(Literals, percent: false)!);

    /// <summary>
    /// A search is built once per choice of fingerprint bytes and shared by the files that make the same choice;
    /// a sample where the literals' first bytes are common (in any case) makes another choice, which finds the same.
    /// </summary>
    [Fact]
    public void SearchesAreSharedPerChoiceOfBytesAndFindTheSame()
    {
        var plain = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("2021-03-03T05:00:00.000Z,GET,/owa/,200\r\n", 100)));
        var a = Utf8CandidateSearch.TryCreate(Literals, percent: false, plain)!;
        Assert.Same(a, Utf8CandidateSearch.TryCreate(Literals.Reverse().ToArray(), percent: false, plain.ToArray()));
        Assert.NotSame(a, Utf8CandidateSearch.TryCreate(Literals, percent: true, plain));
        var firstBytesCommon = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(string.Join(" ", Literals.Select(l => l[..Math.Min(4, l.Length)].ToUpperInvariant())) + "\n", 40)));
        var other = Utf8CandidateSearch.TryCreate(Literals, percent: false, firstBytesCommon)!;
        Assert.NotSame(a, other);
        // Runs are counted case-folded: upper-case first bytes in the sample still move the choice off them.
        Assert.NotSame(Utf8CandidateSearch.TryCreate(Literals, percent: false), other);
        AssertFindsEveryLiteral(a);
        AssertFindsEveryLiteral(other);
    }

    private static void AssertFindsEveryLiteral(Utf8CandidateSearch search)
    {
        var rnd = new Random(11);
        foreach (var literal in Literals)
            for (int at = 0; at < 70; at++)
            {
                var cased = new string(literal.Select(c => rnd.Next(2) == 0 ? char.ToUpperInvariant(c) : c).ToArray());
                var text = Encoding.ASCII.GetBytes(new string('-', at) + cased + new string('-', rnd.Next(0, 40)));
                Assert.True(at == search.IndexOf(text), $"{cased} at {at}");
            }
    }
}
