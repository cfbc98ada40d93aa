namespace Exir.Sigma;

/// <summary>Sigma v2 correlations over base-rule hits (work in progress).</summary>
public sealed class SigmaCorrelator
{
    private readonly SigmaRuleSet _set;
    internal SigmaCorrelator(SigmaRuleSet set) { _set = set; }
    public void Add(SigmaHit hit) { }
    public List<SigmaHit> Complete() => [];
}
