using System.Globalization;
using System.Text.RegularExpressions;

namespace Exir.Knowledge.Builds;

/// <summary>
/// An Exchange build number: major.minor.build.revision. The first three parts name the CU (or, for
/// 2010, the update rollup); the revision names the Security Update. <see cref="Revision"/> is -1 when
/// only the CU level is known, which sorts below every real revision (worst case for CVE checks).
/// </summary>
public readonly partial record struct ExchangeBuild(int Major, int Minor, int Build, int Revision = -1) : IComparable<ExchangeBuild>
{
    public bool HasRevision => Revision >= 0;

    /// <summary>The CU line (major.minor.build) this build belongs to.</summary>
    public ExchangeBuild Line => this with { Revision = -1 };

    public bool SameLine(ExchangeBuild other) => Major == other.Major && Minor == other.Minor && Build == other.Build;

    public int CompareTo(ExchangeBuild other)
    {
        int c = Major.CompareTo(other.Major);
        if (c == 0) c = Minor.CompareTo(other.Minor);
        if (c == 0) c = Build.CompareTo(other.Build);
        if (c == 0) c = Revision.CompareTo(other.Revision);
        return c;
    }

    public static bool operator <(ExchangeBuild a, ExchangeBuild b) => a.CompareTo(b) < 0;
    public static bool operator >(ExchangeBuild a, ExchangeBuild b) => a.CompareTo(b) > 0;
    public static bool operator <=(ExchangeBuild a, ExchangeBuild b) => a.CompareTo(b) <= 0;
    public static bool operator >=(ExchangeBuild a, ExchangeBuild b) => a.CompareTo(b) >= 0;

    /// <summary>Short form, as Microsoft's build table writes it: 15.1.2176.2 (or 15.1.2176 at CU level).</summary>
    public override string ToString() => HasRevision
        ? string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Build}.{Revision}")
        : string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Build}");

    /// <summary>Long form, as logs and the registry write it: 15.01.2176.002.</summary>
    public string ToLongString() => HasRevision
        ? string.Create(CultureInfo.InvariantCulture, $"{Major:00}.{Minor:00}.{Build:0000}.{Revision:000}")
        : string.Create(CultureInfo.InvariantCulture, $"{Major:00}.{Minor:00}.{Build:0000}");

    /// <summary>
    /// Accepts the forms users paste: 15.1.2176.2, 15.01.2176.002, "Version 15.1 (Build 2176.2)"
    /// (Get-ExchangeServer AdminDisplayVersion), 15.1.2176 (CU level only), with or without a leading "v".
    /// </summary>
    public static bool TryParse(string? text, out ExchangeBuild build)
    {
        build = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 200) return false;
        var m = AdminDisplayVersion().Match(text);
        if (!m.Success) m = Dotted().Match(text);
        if (!m.Success) return false;
        if (!Part(m.Groups["maj"], out int maj) || !Part(m.Groups["min"], out int min) || !Part(m.Groups["bld"], out int bld)) return false;
        int rev = -1;
        if (m.Groups["rev"].Success && !Part(m.Groups["rev"], out rev)) return false;
        build = new ExchangeBuild(maj, min, bld, rev);
        return true;
    }

    public static ExchangeBuild Parse(string text) =>
        TryParse(text, out var b) ? b : throw new FormatException($"not an Exchange build number: '{text}'");

    /// <summary>Finds a dotted build (three or four parts) anywhere in a string, e.g. in a folder name or header.</summary>
    public static bool TryFind(string text, out ExchangeBuild build)
    {
        build = default;
        var m = Embedded().Match(text);
        return m.Success && TryParse(m.Value, out build);
    }

    private static bool Part(Group g, out int value) =>
        int.TryParse(g.Value, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= 99999;

    [GeneratedRegex(@"^\s*Version\s+(?<maj>\d{1,2})\.(?<min>\d{1,2})\s*\(\s*Build\s+(?<bld>\d{1,5})(?:\.(?<rev>\d{1,5}))?\s*\)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AdminDisplayVersion();

    [GeneratedRegex(@"^\s*v?(?<maj>\d{1,2})\.(?<min>\d{1,2})\.(?<bld>\d{1,5})(?:\.(?<rev>\d{1,5}))?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Dotted();

    [GeneratedRegex(@"(?<![\d.])1[45]\.\d{1,2}\.\d{1,5}(?:\.\d{1,5})?(?![\d.])", RegexOptions.CultureInvariant)]
    private static partial Regex Embedded();
}
