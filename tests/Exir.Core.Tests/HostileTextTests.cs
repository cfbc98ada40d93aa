using System.Text;
using Exir.Core;
using Exir.Core.Findings;

namespace Exir.Core.Tests;

/// <summary>
/// Evidence and remote servers' answers are attacker text. The one sanitiser (<see cref="TextSafety"/>) shows
/// every character a terminal would obey (or that makes a line read differently) as a visible escape.
/// </summary>
public class HostileTextTests
{
    // A file name as an intruder would write it: clear the screen, set the clipboard (OSC 52), ring, new line.
    private const string HostileName = "x\u001b[2J\u001b]52;c;aGk=\u0007\nEvil.aspx";

    /// <summary>What no console or text output may carry raw.</summary>
    private static bool Unsafe(string s, int i, bool lineEndsAllowed = false, bool tabsAllowed = false)
    {
        char c = s[i];
        if (lineEndsAllowed && (c == '\n' || (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n'))) return false;
        if (tabsAllowed && c == '\t') return false;
        if (char.IsHighSurrogate(c)) return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
        if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(s[i - 1]);
        return c < ' ' || c is >= '\x7F' and <= '\x9F' or '\u061C' or '\u200E' or '\u200F' or '\u2028' or '\u2029'
            or >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';
    }

    private static void AssertNothingUnsafe(string s, bool lineEndsAllowed = false, bool tabsAllowed = false)
    {
        for (int i = 0; i < s.Length; i++)
            Assert.False(Unsafe(s, i, lineEndsAllowed, tabsAllowed), $"raw U+{(int)s[i]:X4} at {i} in '{s}'");
    }

    [Fact]
    public void EscapeSequencesAreShownNotStrippedNorObeyed()
    {
        // Stripping a sequence would hide what it carried ("52;c;aGk=" is the clipboard payload): show it instead.
        Assert.Equal(@"x\x1b[2J\x1b]52;c;aGk=\x07\nEvil.aspx", TextSafety.ForTerminal(HostileName));
        Assert.Equal(@"\u202efdp.exe", TextSafety.ForTerminal("\u202Efdp.exe"));
        Assert.Equal(@"a\x00b\x7fc\x9bd\x85e", TextSafety.ForTerminal("a\0b\u007Fc\u009Bd\u0085e"));
        Assert.Equal(@"tab\there", TextSafety.ForTerminal("tab\there"));
    }

    [Fact]
    public void EveryUnsafeCharacterOfTheBmpIsEscapedVisibly()
    {
        for (int c = 0; c <= 0xFFFF; c++)
        {
            var s = "a" + (char)c + "b";
            var safe = TextSafety.ForTerminal(s);
            AssertNothingUnsafe(safe);
            if (Unsafe(s, 1)) Assert.True(safe.Length > 3 && safe.StartsWith("a\\", StringComparison.Ordinal), $"U+{c:X4} -> '{safe}'");
            else Assert.Equal(s, safe);
        }
    }

    [Fact]
    public void SurrogatePairsStayAndLoneSurrogatesAreShown()
    {
        Assert.Equal("shell\U0001F600.aspx", TextSafety.ForTerminal("shell\U0001F600.aspx"));
        Assert.Equal(@"a\ud83db", TextSafety.ForTerminal("a\uD83Db"));
        Assert.Equal(@"a\ude00", TextSafety.ForTerminal("a\uDE00"));
        Assert.Equal(@"\ud83d", TextSafety.ForTerminal("\uD83D"));
    }

    [Fact]
    public void MultiLineReportsKeepTheirLineEndsButNotABareCarriageReturn()
    {
        // A bare CR sends the cursor back to overwrite the start of the line: "ok" would hide "evil".
        Assert.Equal("a\nb\r\nc\\rok", TextSafety.ForTerminal("a\nb\r\nc\rok", keepNewlines: true));
        Assert.Equal(@"a\nb\r\nc", TextSafety.ForTerminal("a\nb\r\nc"));
    }

    [Fact]
    public void SanitisingIsIdempotent()
    {
        var once = TextSafety.ForTerminal(HostileName + "\u202E\uD800");
        Assert.Equal(once, TextSafety.ForTerminal(once));
        Assert.Same("plain text", TextSafety.ForTerminal("plain text"));
    }

    [Fact]
    public void CsvCellsEscapeControlsKeepLineBreaksAndTheFormulaGuard()
    {
        var sw = new StringWriter();
        using (var t = new CsvTable(sw, ["name", "evidence"])) t.Row(HostileName, "=HYPERLINK(\"x\")\r\nline 2\t\u202E");
        var text = sw.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u0007', text);
        Assert.DoesNotContain('\u202E', text);
        var rows = CsvText.Parse(text);
        Assert.Equal(2, rows.Count);
        // A line break inside a quoted cell is legal CSV and kept; ESC and BEL are not.
        Assert.Equal(@"x\x1b[2J\x1b]52;c;aGk=\x07" + "\nEvil.aspx", rows[1][0]);
        Assert.Equal("'=HYPERLINK(\"x\")\r\nline 2\t\\u202e", rows[1][1]);
    }

    [Fact]
    public void MachineReadCsvKeepsFormulasButNotControls()
    {
        var sw = new StringWriter();
        using (var t = new CsvTable(sw, ["message"], CsvCells.AsIs)) t.Row("=1+1 \u001b[31mred\u0000");
        var rows = CsvText.Parse(sw.ToString());
        Assert.Equal(@"=1+1 \x1b[31mred\x00", rows[1][0]);
    }

    [Fact]
    public void FindingJsonEscapesEveryControlCharacter()
    {
        // JSON carries the evidence exactly, as escapes: no raw control reaches a terminal that shows the file.
        var f = new Finding
        {
            RuleId = "T", Title = "t", Artifact = HostileName,
            Evidence = "\u001b[2J\u0007\u0000\u009B31m\u007F\u202E\r\uD800", Details = new Dictionary<string, string> { ["k\u001b"] = "\u001b]0;x\u0007" },
        };
        using var ms = new MemoryStream();
        FindingJson.WriteLines(ms, [f]);
        var json = Encoding.UTF8.GetString(ms.ToArray());
        Assert.EndsWith("}\n", json);
        // Controls (C0, DEL, C1) are escaped by the JSON encoder; a lone surrogate becomes U+FFFD. Bidirectional
        // controls are printable in JSON (a display trick, not a terminal command) and pass as they are.
        Assert.DoesNotContain(json.TrimEnd('\n'), c => c < ' ' || c is >= '\x7F' and <= '\x9F' || char.IsSurrogate(c));
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(HostileName, doc.RootElement.GetProperty("artifact").GetString());
    }
}
