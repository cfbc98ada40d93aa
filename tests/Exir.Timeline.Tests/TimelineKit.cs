using Exir.Engine;
using Exir.Pipeline;
using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;
using Exir.Tests;

namespace Exir.Timeline.Tests;

/// <summary>Runs exir timeline as the verb does (the engine's TimelineRun on the record pipeline) and captures the rows and their Timesketch JSONL.</summary>
internal static class TimelineKit
{
    public sealed class Capture
    {
        public readonly List<TimelineEvent> Rows = [];
        public readonly MemoryStream Jsonl = new();
    }

    public static (TimelineResult Result, Capture Rows) Run(string[] paths, TimelineOptions? options = null, string[]? findings = null)
    {
        options ??= new TimelineOptions();
        var capture = new Capture();
        using var evidence = EvidenceSet.Open(paths);
        using var run = new TimelineRun(new RunOptions { RulesDirectory = Path.Combine(TestPaths.RepoRoot, "rules"), Since = options.Since, Until = options.Until }, options);
        var result = run.Run(evidence, findings ?? [], "test");
        using var jsonl = new TimesketchJsonlSink(new SinkTarget(capture.Jsonl, IsConsole: true));
        foreach (var row in run.Rows())
        {
            capture.Rows.Add(row);
            jsonl.Row(row);
        }
        return (result, capture);
    }
}
