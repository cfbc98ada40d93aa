using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Knowledge.Discovery;

namespace Exir.Knowledge.Assessment;

public static class CollectionAssessment
{
    /// <summary>
    /// Finds the build in a collection and assesses it. Other versions found (older OWA folders, a
    /// second ExSetup.exe, log headers from before an update) are listed as notes, never dropped.
    /// </summary>
    public static BuildAssessment AssessCollection(this ExchangeKnowledge kb, IEvidenceSource source, CoverageReport coverage,
        DateOnly? asOf = null, CancellationToken cancellationToken = default)
    {
        var found = BuildDiscovery.FindInCollection(source, coverage, cancellationToken);
        return kb.AssessFound(found, source.Root, asOf);
    }

    public static BuildAssessment AssessFound(this ExchangeKnowledge kb, IReadOnlyList<FoundBuild> found, string target, DateOnly? asOf = null)
    {
        var best = BuildDiscovery.Best(found);
        if (best is null)
            return new BuildAssessment
            {
                Target = target, Source = "collection", KnowledgeVersion = kb.Version,
                Error = "no Exchange build found (looked for ExSetup.exe, OWA version folders, '#Version:' in Exchange log headers)",
            };
        var a = kb.Assess(best.Build, $"{best.Source} ({best.Path})", best.BuildText, asOf, target, best.Precision);
        var notes = new List<string>(a.Notes);
        var others = found.Where(f => f != best).ToList();
        var lines = found.Select(f => f.Build.Line).Distinct().Count();
        if (lines > 1) notes.Add($"mixed versions: {lines} different CU lines found in this evidence");
        foreach (var f in others)
            notes.Add($"also found {f.Build} ({f.Source}, {f.Path}{(f.Occurrences > 1 ? $", {f.Occurrences} files" : "")})");
        return a with { Notes = notes };
    }
}
