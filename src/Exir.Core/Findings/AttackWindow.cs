namespace Exir.Core.Findings;

/// <summary>The attack window coverage is measured against.</summary>
public static class AttackWindow
{
    /// <summary>ProxyLogon exploitation in the wild began in early January 2021 (Volexity saw it from 2021-01-06).</summary>
    public static readonly DateTimeOffset Start = new(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
