using System.Text;
using static Exir.Sigma.Tests.SigmaTestKit;

namespace Exir.Sigma.Tests;

/// <summary>Every value modifier of the Sigma specification, with its tricky cases.</summary>
public sealed class ModifierTests
{
    [Fact]
    public void PlainValueIsAWholeValueCaseInsensitiveMatch()
    {
        const string d = "    sel:\n        TargetUserName: 'Administrator'\n    condition: sel";
        Assert.True(Fires(d, ("TargetUserName", "ADMINISTRATOR")));
        Assert.False(Fires(d, ("TargetUserName", "Administrator2")));
        Assert.False(Fires(d, ("OtherField", "Administrator")));
    }

    [Fact]
    public void ContainsStartsWithEndsWith()
    {
        Assert.True(Fires("    sel:\n        CommandLine|contains: 'mimikatz'\n    condition: sel", ("CommandLine", "run MimiKatz.exe now")));
        Assert.True(Fires("    sel:\n        CommandLine|startswith: 'cmd'\n    condition: sel", ("CommandLine", "CMD /c whoami")));
        Assert.False(Fires("    sel:\n        CommandLine|startswith: 'cmd'\n    condition: sel", ("CommandLine", "x cmd")));
        Assert.True(Fires("    sel:\n        Image|endswith: '\\w3wp.exe'\n    condition: sel", ("Image", @"C:\Windows\System32\inetsrv\W3WP.EXE")));
        Assert.False(Fires("    sel:\n        Image|endswith: '\\w3wp.exe'\n    condition: sel", ("Image", @"C:\w3wp.exe.bak")));
    }

    [Fact]
    public void ListOfValuesIsAnyUnlessAll()
    {
        const string any = "    sel:\n        CommandLine|contains:\n            - 'a1'\n            - 'b2'\n    condition: sel";
        const string all = "    sel:\n        CommandLine|contains|all:\n            - 'a1'\n            - 'b2'\n    condition: sel";
        Assert.True(Fires(any, ("CommandLine", "x b2 y")));
        Assert.False(Fires(all, ("CommandLine", "x b2 y")));
        Assert.True(Fires(all, ("CommandLine", "b2 then a1")));
    }

    [Fact]
    public void LongContainsListsMixWithWildcardsAndEmojis()
    {
        // Contains-lists are searched in one pass; values with inner wildcards and cased ones stay separate tests.
        const string d = "    sel:\n        CommandLine|contains:\n            - 'a1'\n            - 'b*2'\n            - 'C3'\n            - '\U0001F525'\n    condition: sel";
        Assert.True(Fires(d, ("CommandLine", "x B--2 y")));
        Assert.True(Fires(d, ("CommandLine", "xc3")));
        Assert.True(Fires(d, ("CommandLine", "cmd \U0001F525 /c")));
        Assert.True(Fires(d, ("CommandLine", "A1")));
        Assert.False(Fires(d, ("CommandLine", "nothing here")));
        const string cased = "    sel:\n        CommandLine|cased|contains:\n            - 'Aa'\n            - 'Bb'\n    condition: sel";
        Assert.True(Fires(cased, ("CommandLine", "xBb")));
        Assert.False(Fires(cased, ("CommandLine", "xbb aA")));
    }

    [Fact]
    public void WildcardsMatchRunsAndSingleCharacters()
    {
        // SigmaHQ writes a backslash before a wildcard as \\ (an escaped backslash), as here.
        const string d = "    sel:\n        Image: 'C:\\\\Users\\\\*\\\\AppData\\\\*.exe'\n    condition: sel";
        Assert.True(Fires(d, ("Image", @"c:\users\bob\appdata\local\x.EXE")));
        Assert.False(Fires(d, ("Image", @"C:\Users\bob\Desktop\x.exe")));
        const string q = "    sel:\n        TargetUserName: 'adm?n'\n    condition: sel";
        Assert.True(Fires(q, ("TargetUserName", "ADMIN")));
        Assert.False(Fires(q, ("TargetUserName", "admn")));
    }

    [Fact]
    public void EscapedWildcardsAreLiteralCharacters()
    {
        // \* is a star, \? a question mark, \\ one backslash; other backslashes stay as they are.
        const string star = "    sel:\n        CommandLine|contains: 'dir \\*.aspx'\n    condition: sel";
        Assert.True(Fires(star, ("CommandLine", "cmd /c dir *.aspx")));
        Assert.False(Fires(star, ("CommandLine", "cmd /c dir a.aspx")));
        const string question = "    sel:\n        CommandLine: 'what\\?'\n    condition: sel";
        Assert.True(Fires(question, ("CommandLine", "what?")));
        Assert.False(Fires(question, ("CommandLine", "whatx")));
        const string backslashThenStar = "    sel:\n        Image: 'C:\\\\*'\n    condition: sel";
        Assert.True(Fires(backslashThenStar, ("Image", @"C:\anything")));
        Assert.False(Fires(backslashThenStar, ("Image", @"C:anything")));
    }

    [Fact]
    public void NullMatchesAnAbsentOrEmptyFieldAndEmptyStringOnlyEmpty()
    {
        const string isNull = "    sel:\n        ParentImage: null\n    condition: sel";
        Assert.True(Fires(isNull, ("Other", "x")));
        Assert.True(Fires(isNull, ("ParentImage", "")));
        Assert.False(Fires(isNull, ("ParentImage", "x.exe")));
        const string empty = "    sel:\n        ParentImage: ''\n    condition: sel";
        Assert.True(Fires(empty, ("ParentImage", "")));
        Assert.False(Fires(empty, ("ParentImage", "x.exe")));
        const string notNull = "    sel:\n        TargetUserName: 'bob'\n    filter:\n        ParentImage: null\n    condition: sel and not filter";
        Assert.True(Fires(notNull, ("TargetUserName", "bob"), ("ParentImage", "x.exe")));
        Assert.False(Fires(notNull, ("TargetUserName", "bob")));
    }

    [Fact]
    public void ExistsTestsPresenceOnly()
    {
        Assert.True(Fires("    sel:\n        Hashes|exists: true\n    condition: sel", ("Hashes", "")));
        Assert.False(Fires("    sel:\n        Hashes|exists: true\n    condition: sel", ("Other", "x")));
        Assert.True(Fires("    sel:\n        Hashes|exists: false\n    condition: sel", ("Other", "x")));
    }

    [Fact]
    public void RegexIsCaseSensitiveUnlessI()
    {
        const string cs = "    sel:\n        CommandLine|re: '^cmd\\.exe /c [a-z]+$'\n    condition: sel";
        Assert.True(Fires(cs, ("CommandLine", "cmd.exe /c whoami")));
        Assert.False(Fires(cs, ("CommandLine", "CMD.EXE /c whoami")));
        const string ci = "    sel:\n        CommandLine|re|i: '^cmd\\.exe /c [a-z]+$'\n    condition: sel";
        Assert.True(Fires(ci, ("CommandLine", "CMD.EXE /c WHOAMI")));
    }

    [Fact]
    public void RegexMultilineAndDotAll()
    {
        const string m = "    sel:\n        ScriptBlockText|re|m: '^Invoke-Mimikatz$'\n    condition: sel";
        Assert.True(Fires(m, ("ScriptBlockText", "line1\nInvoke-Mimikatz\nline3")));
        Assert.False(Fires("    sel:\n        ScriptBlockText|re: '^Invoke-Mimikatz$'\n    condition: sel", ("ScriptBlockText", "line1\nInvoke-Mimikatz\nline3")));
        const string s = "    sel:\n        ScriptBlockText|re|s: 'begin.+end'\n    condition: sel";
        Assert.True(Fires(s, ("ScriptBlockText", "begin\nmiddle\nend")));
        Assert.False(Fires("    sel:\n        ScriptBlockText|re: 'begin.+end'\n    condition: sel", ("ScriptBlockText", "begin\nmiddle\nend")));
    }

    [Fact]
    public void RegexWithLookaroundStillWorks()
    {
        // Look-arounds rule out the non-backtracking engine: the pattern runs with a timeout instead.
        const string d = "    sel:\n        CommandLine|re: 'pass(?!word)'\n    condition: sel";
        Assert.True(Fires(d, ("CommandLine", "passphrase")));
        Assert.False(Fires(d, ("CommandLine", "password")));
    }

    [Theory]
    [InlineData("-")]
    [InlineData("/")]
    [InlineData("\u2013")]
    [InlineData("\u2014")]
    [InlineData("\u2015")]
    public void WindashMatchesEveryDashForm(string dash)
    {
        const string d = "    sel:\n        CommandLine|windash|contains: ' -encodedcommand '\n    condition: sel";
        Assert.True(Fires(d, ("CommandLine", $"powershell.exe {dash}EncodedCommand SQBFAFgA")));
    }

    [Fact]
    public void WindashLeavesDashesInsideWordsAlone()
    {
        var variants = Internals.SelectionCompiler.WindashVariants("-s a-b").ToList();
        Assert.Equal(5, variants.Count);
        Assert.All(variants, v => Assert.EndsWith(" a-b", v));
        Assert.Contains("/s a-b", variants);
    }

    [Fact]
    public void CidrMatchesIPv4AndIPv6()
    {
        const string v4 = "    sel:\n        IpAddress|cidr:\n            - '10.0.0.0/8'\n            - '192.168.1.0/24'\n    condition: sel";
        Assert.True(Fires(v4, ("IpAddress", "10.200.3.4")));
        Assert.True(Fires(v4, ("IpAddress", "::ffff:192.168.1.77")));
        Assert.False(Fires(v4, ("IpAddress", "192.168.2.1")));
        Assert.False(Fires(v4, ("IpAddress", "-")));
        const string v6 = "    sel:\n        IpAddress|cidr: 'fe80::/10'\n    condition: sel";
        Assert.True(Fires(v6, ("IpAddress", "fe80::1c2:3ff:fe4d:5e6f")));
        Assert.False(Fires(v6, ("IpAddress", "2001:db8::1")));
        Assert.False(Fires(v6, ("IpAddress", "10.0.0.1")));
    }

    [Fact]
    public void Base64MatchesTheEncodedValueCaseSensitively()
    {
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes("http://evil"));
        const string d = "    sel:\n        CommandLine|base64|contains: 'http://evil'\n    condition: sel";
        Assert.True(Fires(d, ("CommandLine", "powershell -e " + encoded)));
        Assert.False(Fires(d, ("CommandLine", "powershell -e " + encoded.ToLowerInvariant())));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("xy")]
    public void Base64OffsetFindsTheValueAtAnyByteOffset(string prefix)
    {
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(prefix + "Invoke-Expression and more"));
        const string d = "    sel:\n        CommandLine|base64offset|contains: 'Invoke-Expression'\n    condition: sel";
        Assert.True(Fires(d, ("CommandLine", "-enc " + encoded)));
    }

    [Fact]
    public void Base64OffsetDoesNotMatchOtherText()
    {
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes("Invoke-Command and more"));
        Assert.False(Fires("    sel:\n        CommandLine|base64offset|contains: 'Invoke-Expression'\n    condition: sel", ("CommandLine", encoded)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("ab")]
    public void Utf16WithBase64OffsetFindsPowerShellEncodedCommands(string prefix)
    {
        // PowerShell -EncodedCommand is base64 of UTF-16LE text.
        var encoded = Convert.ToBase64String(Encoding.Unicode.GetBytes(prefix + "IEX (New-Object Net.WebClient)"));
        const string le = "    sel:\n        CommandLine|utf16le|base64offset|contains: 'New-Object Net.WebClient'\n    condition: sel";
        const string wide = "    sel:\n        CommandLine|wide|base64offset|contains: 'New-Object Net.WebClient'\n    condition: sel";
        // utf16be with plain base64 (no offset): big-endian bytes are not the little-endian text.
        const string be = "    sel:\n        CommandLine|utf16be|base64|contains: 'IEX (New-Object Net.WebClient)'\n    condition: sel";
        Assert.True(Fires(le, ("CommandLine", "powershell -enc " + encoded)));
        Assert.True(Fires(wide, ("CommandLine", "powershell -enc " + encoded)));
        if (prefix.Length == 0) Assert.False(Fires(be, ("CommandLine", "powershell -enc " + encoded)));
        // (With a prefix of an odd number of bytes' worth the big-endian bytes really do occur at an aligned offset.)
    }

    [Fact]
    public void Utf16BeMatchesBigEndianText()
    {
        var encoded = Convert.ToBase64String(Encoding.BigEndianUnicode.GetBytes("IEX (New-Object Net.WebClient)"));
        Assert.True(Fires("    sel:\n        CommandLine|utf16be|base64|contains: 'IEX (New-Object Net.WebClient)'\n    condition: sel", ("CommandLine", encoded)));
        Assert.False(Fires("    sel:\n        CommandLine|utf16le|base64|contains: 'IEX (New-Object Net.WebClient)'\n    condition: sel", ("CommandLine", encoded)));
    }

    [Fact]
    public void NumericComparisons()
    {
        Assert.True(Fires("    sel:\n        LogonType|gt: 3\n    condition: sel", ("LogonType", "10")));
        Assert.False(Fires("    sel:\n        LogonType|gt: 3\n    condition: sel", ("LogonType", "3")));
        Assert.True(Fires("    sel:\n        LogonType|gte: 3\n    condition: sel", ("LogonType", "3")));
        Assert.True(Fires("    sel:\n        LogonType|lt: 3\n    condition: sel", ("LogonType", "2")));
        Assert.False(Fires("    sel:\n        LogonType|lte: 3\n    condition: sel", ("LogonType", "4")));
        Assert.True(Fires("    sel:\n        AccessMask|gte: 16\n    condition: sel", ("AccessMask", "0x1010")));
        Assert.False(Fires("    sel:\n        LogonType|gt: 3\n    condition: sel", ("LogonType", "many")));
    }

    [Fact]
    public void FieldrefComparesWithAnotherFieldOfTheSameEvent()
    {
        const string d = "    sel:\n        TargetUserName|fieldref: SubjectUserName\n    condition: sel";
        Assert.True(Fires(d, ("TargetUserName", "bob"), ("SubjectUserName", "BOB")));
        Assert.False(Fires(d, ("TargetUserName", "bob"), ("SubjectUserName", "alice")));
        Assert.False(Fires(d, ("TargetUserName", "bob")));
        const string contains = "    sel:\n        CommandLine|fieldref|contains: TargetUserName\n    condition: sel";
        Assert.True(Fires(contains, ("CommandLine", "net user bob /add"), ("TargetUserName", "bob")));
    }

    [Fact]
    public void CasedComparesExactly()
    {
        const string d = "    sel:\n        CommandLine|cased|contains: 'VirtualAlloc'\n    condition: sel";
        Assert.True(Fires(d, ("CommandLine", "x VirtualAlloc y")));
        Assert.False(Fires(d, ("CommandLine", "x virtualalloc y")));
    }

    [Fact]
    public void ExpandTakesPlaceholdersFromTheConfiguration()
    {
        var map = LogsourceMap.Load();
        var config = new SigmaLoadOptions
        {
            Logsources = WithPlaceholders(map, "placeholders:\n  Exchange_Servers: [EXCH01, EXCH02]\n"),
        };
        var yaml = Rule("    sel:\n        WorkstationName|expand: '%Exchange_Servers%'\n    condition: sel");
        var set = SigmaRuleSet.Parse(yaml, "t.yml", config);
        Assert.Empty(set.Report.Failed);
        var engine = new SigmaEngine(set);
        var hits = new List<SigmaHit>();
        engine.Match(Event(data: [("WorkstationName", "exch02")]), hits);
        Assert.Single(hits);
        hits.Clear();
        engine.Match(Event(data: [("WorkstationName", "DC01")]), hits);
        Assert.Empty(hits);
        // An unknown placeholder is a load error naming it.
        var bad = SigmaRuleSet.Parse(Rule("    sel:\n        WorkstationName|expand: '%Nope%'\n    condition: sel"), "t.yml", config);
        Assert.Contains("%Nope%", Assert.Single(bad.Report.Failed).Reason);
    }

    internal static LogsourceMap WithPlaceholders(LogsourceMap map, string yaml)
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "rules", "sigma-config", "logsources.yaml"));
        var m = LogsourceMap.Parse(text);
        typeof(LogsourceMap).GetProperty(nameof(LogsourceMap.Placeholders))!.SetValue(m, LogsourceMap.ParsePlaceholders(yaml));
        return m;
    }

    [Fact]
    public void UnknownModifierIsALoadErrorNamingIt()
    {
        Assert.Contains("'bogus'", LoadError(Rule("    sel:\n        CommandLine|bogus: 'x'\n    condition: sel")));
    }

    [Fact]
    public void BadRegexAndCidrAreLoadErrors()
    {
        Assert.Contains("regular expression", LoadError(Rule("    sel:\n        CommandLine|re: '(unclosed'\n    condition: sel")));
        Assert.Contains("CIDR", LoadError(Rule("    sel:\n        IpAddress|cidr: '10.0.0.0/99'\n    condition: sel")));
    }

    [Fact]
    public void IntegerAndBooleanValuesCompareAsText()
    {
        Assert.True(Fires("    sel:\n        LogonType: 3\n    condition: sel", ("LogonType", "3")));
        Assert.True(Fires("    sel:\n        Enabled: true\n    condition: sel", ("Enabled", "True")));
    }
}
