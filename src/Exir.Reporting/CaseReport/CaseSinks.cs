using Exir.Reporting.Outputs;
using Exir.Reporting.TimelineOutputs;

namespace Exir.Reporting.CaseReport;

// exir report's outputs in the sink registry: the page, the STIX bundle and the ECS lines of one case.

internal sealed class CaseHtmlSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is { } c) CaseHtmlReport.Write(c.Snapshot, c.Checklist, c.Language, Stream, c.Options);
    }
}

internal sealed class CaseStixSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is { } c) CaseStixExport.Write(c.Snapshot, Stream);
    }
}

internal sealed class CaseEcsSink(SinkTarget target) : StreamSink(target)
{
    public override void Complete(RunOutput output)
    {
        if (output.Case is { } c) CaseEcsExport.Write(c.Snapshot, Stream, c.Snapshot.TimelineRows, c.Options.ToolVersion);
    }
}
