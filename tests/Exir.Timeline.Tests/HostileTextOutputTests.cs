using System.Text;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;
using static Exir.Timeline.Tests.Events;

namespace Exir.Timeline.Tests;

/// <summary>
/// A command line in an event log is the intruder's text. The timeline's text outputs (process-trees.txt and
/// the console summary) show its control characters as \x1b-style escapes; none reaches a terminal raw.
/// </summary>
public class HostileTextOutputTests
{
    private const string Command = "cmd /c whoami \u001b]0;owned\u0007\u001b[2J\u009b31m\u202Etxt.exe";

    private static TimelineEvent Start4688(ulong rec, int secs, string image, string pid, string parentPid, string cmd) =>
        Row(Security(4688, rec, T0.AddSeconds(secs), "EX01", ("NewProcessName", image), ("NewProcessId", pid), ("ProcessId", parentPid),
            ("CommandLine", cmd), ("SubjectUserName", "SYSTEM"), ("SubjectDomainName", "CORP"), ("ParentProcessName", "")));

    private static TimelineResult Result() => OutputTests.TimelineResultFor(
    [
        Start4688(1, 0, @"C:\Windows\System32\inetsrv\w3wp.exe", "0x100", "0x4", "w3wp.exe -ap \"MSExchangeOWAAppPool\""),
        Start4688(2, 10, @"C:\Windows\System32\cmd.exe", "0x300", "0x100", Command),
    ]);

    private static void AssertNoRawControls(string text)
    {
        foreach (char c in text)
            Assert.False(c < ' ' && c != '\n' || c is >= '\u007f' and <= '\u009f' or '\u202e', $"raw U+{(int)c:X4} in: {text}");
    }

    [Fact]
    public void ProcessTreesTextShowsHostileCommandLinesAsEscapes()
    {
        var result = Result();
        var ms = new MemoryStream();
        using (var sink = new ProcessTreesSink(OutputTests.To(ms))) sink.Complete(new RunOutput { Verb = Verb.Timeline, Timeline = result });
        var text = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains(@"cmd /c whoami \x1b]0;owned\x07\x1b[2J\x9b31m\u202etxt.exe", text);
        AssertNoRawControls(text);
    }

    [Fact]
    public void ConsoleSummaryHasNoRawControls()
    {
        var result = Result();
        result.Notes.Add("note about evil\u001b[2J\nfile");
        var ms = new MemoryStream();
        using (var sink = new TimelineConsoleSink(OutputTests.To(ms))) sink.Complete(new RunOutput { Verb = Verb.Timeline, Timeline = result });
        var text = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains(@"note: note about evil\x1b[2J\nfile", text);
        AssertNoRawControls(text);
    }
}
