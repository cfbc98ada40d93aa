using System.Collections.Concurrent;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Discovery;
using Exir.Pipeline;

namespace Exir.Detection.Files;

/// <summary>
/// Notes, while the pipeline walks a root, where the installed Exchange build shows: Bin/ExSetup.exe (to
/// the Security Update), OWA version folders and Exchange log headers (to the CU). The patch status and the
/// file hunt's whole-picture checks read the build from here after the walk, so the evidence is walked once.
/// </summary>
public sealed class BuildHints : IFileConsumer
{
    private const int MaxHintFiles = 64;
    private const int MaxLogVersions = 4096;

    public string Name => "build-hints";

    private sealed class RootState
    {
        public ConcurrentBag<EvidenceFile> Files { get; } = [];
        public ConcurrentBag<(string Version, string Path)> LogVersions { get; } = [];
        public Lazy<IReadOnlyList<FoundBuild>>? Found;
    }

    public bool Wants(ArtifactProbe probe, RunContext context)
    {
        var state = context.StateOf<RootState>(this);
        // A few hints are enough: one ExSetup.exe gives the SU, one file of a version folder the CU.
        if (state.Files.Count < MaxHintFiles && WebBaseline.IsBuildHint(probe.File)) state.Files.Add(probe.File);
        if (probe.Log is { IsExchange: true } && probe.LogVersion is { } v && state.LogVersions.Count < MaxLogVersions)
            state.LogVersions.Add((v, probe.File.RelativePath));
        return false;
    }

    public void Inspect(ArtifactProbe probe, RunContext context) { }

    /// <summary>Every build the root shows, best source first (ExSetup.exe under Bin, then OWA folders, then log headers).</summary>
    public IReadOnlyList<FoundBuild> Found(RunContext context)
    {
        var state = context.StateOf<RootState>(this);
        lock (state)
        {
            state.Found ??= new Lazy<IReadOnlyList<FoundBuild>>(() =>
                BuildDiscovery.FindInFiles(state.Files, state.LogVersions, context.Coverage, context.Cancellation));
        }
        return state.Found.Value;
    }

    /// <summary>The installed build: exact when ExSetup.exe was read, else the CU level from OWA folders or log headers.</summary>
    public (bool Exact, string? Build) InstalledBuild(RunContext context)
    {
        var found = BuildDiscovery.Best(Found(context));
        if (found is { Precision: Precision.Su }) return (true, found.Build.ToString());
        return (false, context.ExchangeBuild ?? found?.Build.ToString());
    }
}
