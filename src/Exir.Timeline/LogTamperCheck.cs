using Exir.Evtx;
using Exir.Pipeline;

namespace Exir.Timeline;

/// <summary>
/// Log tampering as a consumer of the record pipeline: per event log file, missing record numbers, long
/// silences and time running backwards (rules/timeline/tamper.yaml). Findings point at the record after the hole.
/// </summary>
public sealed class LogTamperCheck(TamperRules rules, EventMapping mapping) : IEventConsumer
{
    public string Name => "log-tamper";

    public IEventHandler Open(ArtifactProbe probe, RunContext context) => new Handler(rules, mapping, probe.File.RelativePath, context);

    private sealed class Handler(TamperRules rules, EventMapping mapping, string artifact, RunContext context) : IEventHandler
    {
        private readonly LogGapTracker _gaps = new(artifact, context.RootLabel, "?");

        public void Event(WinEvent e, EventTags tags)
        {
            _gaps.Add(e.RecordId, e.TimestampUtc, rules, e.HeaderRecordId);
            if (_gaps.Records == 1)
            {
                _gaps.Host = string.IsNullOrWhiteSpace(e.Computer) ? context.RootLabel : e.Computer!;
                _gaps.Channel = mapping.ChannelOf(e);
            }
            if (e.FromBadCrcChunk) _gaps.SawDamage = true;
        }

        public void Close(EvtxReadStats stats)
        {
            if (stats.DamagedChunks + stats.BadCrcChunks > 0) _gaps.SawDamage = true;
            foreach (var f in _gaps.Findings(rules)) context.Report(f);
        }
    }
}
