using System.Globalization;
using Exir.Core;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Knowledge.Internals;

namespace Exir.Knowledge;

/// <summary>
/// The Exchange knowledge base: every build, the exploited CVEs with the minimum fixed build per CU
/// line, and product lifecycle. All of it is data (knowledge/*.tsv), loaded from a user folder when
/// given and from the copy embedded in this assembly otherwise.
/// <para>API used by the other verbs (e.g. <c>exir scan</c> printing the patch status):</para>
/// <code>
/// var kb = ExchangeKnowledge.Load(knowledgeDir);            // null: folder beside exir, checkout, or embedded
/// BuildAssessment a = kb.Assess("15.1.2176.2");               // any pasted form; a.Action, a.OpenCves, a.ActionText
/// var found = BuildDiscovery.FindInCollection(source, cov);   // IEvidenceSource -> builds with source and precision
/// BuildAssessment? s = kb.AssessCollection(source, cov, root); // best source found, mixed versions noted
/// string text = AssessmentWriter.Text([a]);                    // or Json / Csv; stable JSON names
/// </code>
/// Remote checks: <see cref="Remote.RemoteChecker"/> (one host) and <see cref="Remote.FleetRunner"/> (many).
/// </summary>
public sealed class ExchangeKnowledge
{
    public const string BuildsFile = "exchange-builds.tsv";
    public const string CveFile = "cve-fixes.tsv";
    public const string LifecycleFile = "lifecycle.tsv";
    public const string VersionFile = "VERSION";

    private readonly Dictionary<ExchangeBuild, BuildRelease> _byBuild = new();
    private readonly List<BuildRelease> _releases;

    private ExchangeKnowledge(List<BuildRelease> releases, List<CveFixRule> rules, List<ProductLifecycle> lifecycle,
        string version, string origin, List<string> problems)
    {
        _releases = releases;
        foreach (var r in releases) _byBuild.TryAdd(r.Build, r);
        Rules = rules;
        Lifecycle = lifecycle;
        Version = version;
        Origin = origin;
        Problems = problems;
        CveIds = rules.Select(r => r.Cve).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    public IReadOnlyList<BuildRelease> Releases => _releases;
    public IReadOnlyList<CveFixRule> Rules { get; }
    public IReadOnlyList<ProductLifecycle> Lifecycle { get; }
    public IReadOnlyList<string> CveIds { get; }
    /// <summary>Data version (knowledge/VERSION), printed with every report.</summary>
    public string Version { get; }
    /// <summary>Folder or "embedded in ..." the tables came from.</summary>
    public string Origin { get; }
    /// <summary>Rows that could not be read (reported, skipped).</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Loads the tables. <paramref name="directory"/> overrides the embedded copy (the --knowledge option).</summary>
    public static ExchangeKnowledge Load(string? directory = null)
    {
        var files = new DataFiles("knowledge", typeof(ExchangeKnowledge).Assembly, directory);
        return Load(files.Exists, files.Open, files.Origin);
    }

    /// <summary>Loads the copy embedded at build time, ignoring any folder.</summary>
    public static ExchangeKnowledge LoadEmbedded()
    {
        var asm = typeof(ExchangeKnowledge).Assembly;
        return Load(f => asm.GetManifestResourceInfo("knowledge/" + f) is not null,
            f => asm.GetManifestResourceStream("knowledge/" + f) ?? throw new FileNotFoundException(f),
            $"embedded in {asm.GetName().Name} {asm.GetName().Version}");
    }

    private static ExchangeKnowledge Load(Func<string, bool> exists, Func<string, Stream> open, string origin)
    {
        foreach (var f in new[] { BuildsFile, CveFile, LifecycleFile })
            if (!exists(f)) throw new FileNotFoundException($"knowledge file {f} missing in {origin}");
        var problems = new List<string>();
        var builds = ReadTable(open, BuildsFile, problems);
        var cves = ReadTable(open, CveFile, problems);
        var life = ReadTable(open, LifecycleFile, problems);
        string version = "";
        if (exists(VersionFile))
        {
            using var vr = new StreamReader(open(VersionFile));
            version = vr.ReadToEnd().Trim();
        }
        if (version.Length == 0)
            version = builds.Comments.Concat(cves.Comments).Select(c => c.StartsWith("version:", StringComparison.OrdinalIgnoreCase) ? c[8..].Trim() : null)
                .FirstOrDefault(v => v is not null) ?? "unversioned";
        return new ExchangeKnowledge(ParseBuilds(builds, problems), ParseRules(cves, problems), ParseLifecycle(life, problems),
            version, origin, problems);
    }

    private static TsvTable ReadTable(Func<string, Stream> open, string name, List<string> problems)
    {
        using var reader = new StreamReader(open(name));
        var t = TsvTable.Read(name, reader);
        problems.AddRange(t.Problems);
        return t;
    }

    internal static List<BuildRelease> ParseBuilds(TsvTable t, List<string> problems)
    {
        var list = new List<BuildRelease>();
        if (!t.HasColumns("build", "product", "line", "kind", "name")) { problems.Add($"{t.Name}: missing columns"); return list; }
        foreach (var r in t.Rows)
        {
            if (!ExchangeBuild.TryParse(r["build"], out var b) || !b.HasRevision)
            {
                problems.Add($"{t.Name} line {r.LineNumber}: bad build '{r["build"]}'; row skipped");
                continue;
            }
            list.Add(new BuildRelease(b, r["product"], r["line"], r.OrNull("update"), r["kind"].ToLowerInvariant(), r["name"],
                r.OrNull("released"), r.OrNull("kb"), r.OrNull("note"), r["source"]));
        }
        list.Sort((a, b) => a.Build.CompareTo(b.Build));
        return list;
    }

    internal static List<CveFixRule> ParseRules(TsvTable t, List<string> problems)
    {
        var list = new List<CveFixRule>();
        if (!t.HasColumns("cve", "product", "line", "min_fixed", "kind")) { problems.Add($"{t.Name}: missing columns"); return list; }
        foreach (var r in t.Rows)
        {
            try
            {
                var spec = r["line"];
                var match = spec.StartsWith(">=", StringComparison.Ordinal) ? LineMatch.AndLater
                    : spec.StartsWith('<') ? LineMatch.Before : LineMatch.Exact;
                var start = ExchangeBuild.Parse(spec.TrimStart('>', '=', '<'));
                var kind = r["kind"].ToLowerInvariant() switch
                {
                    "su" => FixKind.SecurityUpdate,
                    "cu" => FixKind.CumulativeUpdate,
                    "none" => FixKind.NoFixForLine,
                    "config" => FixKind.Configuration,
                    var k => throw new FormatException($"unknown kind '{k}'"),
                };
                ExchangeBuild? min = r.OrNull("min_fixed") is { } m ? ExchangeBuild.Parse(m) : null;
                if (min is null && kind is FixKind.SecurityUpdate or FixKind.CumulativeUpdate)
                    throw new FormatException("kind su/cu needs min_fixed");
                double cvss = double.TryParse(r["cvss"], NumberStyles.Float, CultureInfo.InvariantCulture, out var c) ? c : 0;
                list.Add(new CveFixRule(r["cve"].ToUpperInvariant(), r["wave"], cvss, r["product"], start, match, r["line_name"],
                    min, r.OrNull("fix_name"), r.OrNull("fix_kb"), r.OrNull("fix_date"), kind, r.OrNull("interim_mitigation"),
                    r.OrNull("note"), r["source"]));
            }
            catch (FormatException e)
            {
                problems.Add($"{t.Name} line {r.LineNumber}: {e.Message}; row skipped");
            }
        }
        return list;
    }

    internal static List<ProductLifecycle> ParseLifecycle(TsvTable t, List<string> problems)
    {
        var list = new List<ProductLifecycle>();
        foreach (var r in t.Rows)
        {
            try
            {
                var esu = r["esu_lines"].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(ExchangeBuild.Parse).ToList();
                list.Add(new ProductLifecycle(r["product"], r["name"], ExchangeBuild.Parse(r["build_from"]), ExchangeBuild.Parse(r["build_to"]),
                    ProductLifecycle.ParseDate(r["extended_end"]), ProductLifecycle.ParseDate(r["esu_end"]), esu, r["migrate_to"], r["source"], r.OrNull("esu_end")));
            }
            catch (FormatException e)
            {
                problems.Add($"{t.Name} line {r.LineNumber}: {e.Message}; row skipped");
            }
        }
        return list;
    }

    /// <summary>The release row of an exact build, if the table has it.</summary>
    public BuildRelease? Find(ExchangeBuild build) => _byBuild.GetValueOrDefault(build);

    public ProductLifecycle? ProductOf(ExchangeBuild build) => Lifecycle.FirstOrDefault(p => p.Contains(build));

    /// <summary>All released builds of one CU line, oldest first.</summary>
    public IEnumerable<BuildRelease> LineReleases(ExchangeBuild build) => _releases.Where(r => r.Build.SameLine(build));

    /// <summary>The newest build of a line (the update to install to stay on this CU), ignoring previews.</summary>
    public BuildRelease? LatestInLine(ExchangeBuild build) => LineReleases(build).LastOrDefault(r => r.Kind != "preview");

    /// <summary>The newest build of the product's newest CU line.</summary>
    public BuildRelease? LatestForProduct(ProductLifecycle product) =>
        _releases.LastOrDefault(r => product.Contains(r.Build) && r.Kind is not ("preview" or "base"));

    /// <summary>Assesses a build given as text (every pasted form). Unparseable text gives an assessment with <see cref="BuildAssessment.Error"/>.</summary>
    public BuildAssessment Assess(string buildText, string source = "argument", DateOnly? asOf = null, string? target = null)
    {
        if (!ExchangeBuild.TryParse(buildText, out var build))
            return new BuildAssessment
            {
                Target = target ?? buildText, BuildText = buildText, Source = source, KnowledgeVersion = Version,
                Error = $"'{buildText}' is not an Exchange build number (try 15.1.2176.2, 15.01.2176.002 or 'Version 15.1 (Build 2176.2)')",
            };
        return Assess(build, source, buildText, asOf, target);
    }

    /// <summary>Assesses a parsed build. <paramref name="asOf"/> fixes the date for support checks (default: today, UTC).</summary>
    public BuildAssessment Assess(ExchangeBuild build, string source, string? buildText = null, DateOnly? asOf = null, string? target = null, string? precision = null)
        => BuildAssessor.Assess(this, build, source, buildText ?? build.ToString(), asOf ?? DateOnly.FromDateTime(DateTime.UtcNow), target, precision);
}
