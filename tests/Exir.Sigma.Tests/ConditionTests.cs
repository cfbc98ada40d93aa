using static Exir.Sigma.Tests.SigmaTestKit;

namespace Exir.Sigma.Tests;

/// <summary>Condition forms: and/or/not, parentheses, "1 of", "all of", "them", lists of maps, keywords.</summary>
public sealed class ConditionTests
{
    private const string Three = """
            sel_a:
                A: 'x'
            sel_b:
                B: 'y'
            filter_c:
                C: 'z'
        """;

    private static bool Eval(string condition, params (string, string)[] data) =>
        Fires(Three + "\n    condition: " + condition, data);

    [Fact]
    public void AndOrNotWithPrecedence()
    {
        // not binds tighter than and, and tighter than or.
        Assert.True(Eval("sel_a and not filter_c", ("A", "x")));
        Assert.False(Eval("sel_a and not filter_c", ("A", "x"), ("C", "z")));
        Assert.True(Eval("sel_a or sel_b and filter_c", ("A", "x")));
        Assert.False(Eval("(sel_a or sel_b) and filter_c", ("A", "x")));
        Assert.True(Eval("not (sel_a or sel_b)", ("C", "z")));
        Assert.False(Eval("not sel_a and not sel_b", ("B", "y")));
    }

    [Fact]
    public void OneOfAndAllOfPatterns()
    {
        Assert.True(Eval("1 of sel_*", ("B", "y")));
        Assert.False(Eval("all of sel_*", ("B", "y")));
        Assert.True(Eval("all of sel_*", ("A", "x"), ("B", "y")));
        Assert.True(Eval("1 of sel_* and not 1 of filter_*", ("A", "x")));
        Assert.False(Eval("1 of sel_* and not 1 of filter_*", ("A", "x"), ("C", "z")));
        Assert.True(Eval("all of filter_*", ("C", "z")));
    }

    [Fact]
    public void OfThem()
    {
        Assert.True(Eval("1 of them", ("C", "z")));
        Assert.False(Eval("all of them", ("A", "x"), ("B", "y")));
        Assert.True(Eval("all of them", ("A", "x"), ("B", "y"), ("C", "z")));
    }

    [Fact]
    public void ConditionListIsAnyOfItsConditions()
    {
        const string d = "    sel_a:\n        A: 'x'\n    sel_b:\n        B: 'y'\n    condition:\n        - sel_a\n        - sel_b";
        Assert.True(Fires(d, ("B", "y")));
        Assert.False(Fires(d, ("C", "y")));
    }

    [Fact]
    public void ListOfMapsIsAnyMapAndEachMapIsAllItsFields()
    {
        const string d = "    sel:\n        - A: 'x'\n          B: 'y'\n        - C: 'z'\n    condition: sel";
        Assert.True(Fires(d, ("A", "x"), ("B", "y")));
        Assert.False(Fires(d, ("A", "x")));
        Assert.True(Fires(d, ("C", "z")));
    }

    [Fact]
    public void KeywordsSearchEveryValueOfTheEvent()
    {
        const string d = "    keywords:\n        - 'New-MailboxExportRequest'\n        - 'Remove-MailboxExportRequest'\n    condition: keywords";
        Assert.True(Fires(d, ("Data[1]", "x"), ("Data[2]", "New-MailboxExportRequest -Mailbox admin -FilePath \\\\srv\\c$\\a.aspx")));
        Assert.False(Fires(d, ("Data[1]", "Get-Mailbox")));
        // The values that held a keyword are the hit's evidence.
        var hits = new List<SigmaHit>();
        new SigmaEngine(Load(Rule(d))).Match(Event(data: [("Data[1]", "x"), ("Data[2]", "New-MailboxExportRequest -Mailbox ceo")]), hits);
        Assert.Equal([new("keywords", "New-MailboxExportRequest -Mailbox ceo")], Assert.Single(hits).RuleFields);
    }

    [Fact]
    public void KeywordsWithAllNeedEveryString()
    {
        const string d = "    keywords:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n    condition: keywords";
        Assert.True(Fires(d, ("Data[1]", "Set-OabVirtualDirectory"), ("Data[2]", "-Identity x -ExternalUrl 'http://f/<script'")));
        Assert.False(Fires(d, ("Data[1]", "Set-OabVirtualDirectory -InternalUrl x")));
    }

    [Fact]
    public void DataFieldMatchesAnyUnnamedDataElement()
    {
        // Classic events and the Exchange cmdlet log carry unnamed <Data> elements: the field "Data" is each of them.
        const string d = "    sel:\n        Data|contains: 'Install-TransportAgent'\n    condition: sel";
        Assert.True(Fires(d, ("Data[1]", "x"), ("Data[2]", "y"), ("Data[3]", "Install-TransportAgent -Name evil")));
        Assert.False(Fires(d, ("Data[1]", "Get-TransportAgent")));
        Assert.False(Fires("    sel:\n        Data|contains|all:\n            - 'Install'\n            - 'Remove'\n    condition: sel", ("Data[1]", "Install")));
        Assert.True(Fires("    sel:\n        Data|contains|all:\n            - 'Install'\n            - 'Remove'\n    condition: sel", ("Data[1]", "Install"), ("Data[2]", "Remove")));
    }

    [Theory]
    [InlineData("sel_a and", "ends too early")]
    [InlineData("sel_a and (sel_b", "missing ')'")]
    [InlineData("sel_nope", "not a selection")]
    [InlineData("1 of nothing_*", "matches no selection")]
    [InlineData("sel_a | count() > 5", "aggregation")]
    public void BadConditionsAreLoadErrors(string condition, string reason)
    {
        var yaml = Rule("    sel_a:\n        A: 'x'\n    sel_b:\n        B: 'y'\n    condition: " + condition);
        Assert.Contains(reason, LoadError(yaml));
    }

    [Fact]
    public void EventIdPrefilterKeepsOrSemantics()
    {
        // EventID in one branch of an or: events of other ids still reach the rule.
        const string d = "    sel_a:\n        EventID: 4720\n    sel_b:\n        TargetUserName: 'bob'\n    condition: sel_a or sel_b";
        Assert.True(Fires(d, Event(id: 4624, data: [("TargetUserName", "bob")])));
        Assert.True(Fires(d, Event(id: 4720)));
        Assert.False(Fires("    sel_a:\n        EventID: 4720\n    sel_b:\n        TargetUserName: 'bob'\n    condition: sel_a and sel_b", Event(id: 4624, data: [("TargetUserName", "bob")])));
    }
}
