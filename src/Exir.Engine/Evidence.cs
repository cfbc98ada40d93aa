using Exir.Core.Evidence;

namespace Exir.Engine;

/// <summary>An evidence root of a run (one host usually) and what it stands for when its evidence names no host.</summary>
public sealed record EvidenceInput(IEvidenceSource Source, string Label);

/// <summary>The evidence roots of a run, opened read-only together and closed together.</summary>
public sealed class EvidenceSet : IDisposable
{
    private EvidenceSet(IReadOnlyList<EvidenceInput> inputs) => Inputs = inputs;

    public IReadOnlyList<EvidenceInput> Inputs { get; }
    public IReadOnlyList<IEvidenceSource> Sources => Inputs.Select(i => i.Source).ToList();

    /// <summary>Opens every path (folder, zip or file); throws <see cref="EvidenceException"/> naming the first that cannot be opened.</summary>
    public static EvidenceSet Open(IEnumerable<string> paths)
    {
        var inputs = new List<EvidenceInput>();
        try
        {
            foreach (var p in paths) inputs.Add(new EvidenceInput(EvidenceSource.Open(p), EvidenceSource.LabelOf(p)));
        }
        catch
        {
            foreach (var i in inputs) i.Source.Dispose();
            throw;
        }
        return new EvidenceSet(inputs);
    }

    /// <summary>Sources opened elsewhere (the live server, tests).</summary>
    public static EvidenceSet Of(params EvidenceInput[] inputs) => new(inputs);

    public void Dispose()
    {
        foreach (var i in Inputs) i.Source.Dispose();
    }
}
