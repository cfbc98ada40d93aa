using System.Text.RegularExpressions;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;

namespace Exir.Knowledge.Remote;

public enum ProbeVerdict { Vulnerable, NotVulnerable, MitigationActive, MitigationAbsent, Inconclusive, NotApplicable }

/// <summary>The verdict of one safe probe. Every probe always yields one, also when nothing was found.</summary>
public sealed record ProbeResult(string Name, string Cves, ProbeVerdict Verdict, string Detail)
{
    public static string VerdictName(ProbeVerdict v) => v switch
    {
        ProbeVerdict.Vulnerable => "vulnerable",
        ProbeVerdict.NotVulnerable => "not-vulnerable",
        ProbeVerdict.MitigationActive => "mitigation-active",
        ProbeVerdict.MitigationAbsent => "mitigation-absent",
        ProbeVerdict.NotApplicable => "not-applicable",
        _ => "inconclusive",
    };
}

/// <summary>A version clue seen on the host and how precise it is.</summary>
public sealed record FingerprintClue(string Source, string Value, ExchangeBuild? Build, string Precision);

public sealed record RemoteCheckResult
{
    public required string Host { get; init; }
    public Uri? BaseUri { get; init; }
    public bool Reachable { get; init; }
    public bool IsExchange { get; init; }
    /// <summary>Why the host could not be checked (unreachable, TLS, bad address).</summary>
    public string? Error { get; init; }
    public IReadOnlyList<FingerprintClue> Clues { get; init; } = [];
    public FingerprintClue? Fingerprint { get; init; }
    public IReadOnlyList<ProbeResult> Probes { get; init; } = [];
    public BuildAssessment? Assessment { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Needs action: an open CVE, an unsupported product, or a probe that says vulnerable.</summary>
    public bool HasFinding => Assessment is { Error: null, Action: not RecommendedAction.None } || Probes.Any(p => p.Verdict == ProbeVerdict.Vulnerable);
    /// <summary>Nothing could be said about the patch state.</summary>
    public bool NotAssessed => Error is not null || !IsExchange || Assessment is null or { Error: not null };

    /// <summary>1 when any host needs action; else 2 when any host could not be assessed; else 0.</summary>
    public static int ExitCodeFor(IReadOnlyCollection<RemoteCheckResult> all) =>
        all.Any(r => r.HasFinding) ? 1 : all.Count == 0 || all.Any(r => r.NotAssessed) ? 2 : 0;
}

/// <summary>
/// Remote, non-destructive check of one Exchange host over HTTP(S): fingerprints the build (the
/// X-OWA-Version header and the eDiscovery export tool manifest give the exact build; the OWA logon
/// page's /owa/auth/&lt;build&gt;/themes/ path gives the CU) and runs safe GET probes: the CVE-2021-26855
/// cookie probe, the ProxyShell autodiscover probe, and whether the ProxyNotShell URL Rewrite
/// mitigation answers. No request carries an exploit payload or changes state. Only scan systems you
/// are authorised to test.
/// </summary>
public sealed partial class RemoteChecker : IDisposable
{
    public const string ExportToolPath = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application";
    public const string OwaHeaderSource = "X-OWA-Version header";
    public const string ExportToolSource = "exporttool manifest";
    public const string LogonPageSource = "OWA logon page path";
    // The published safe check: the cookies ask the front end to route to localhost; a vulnerable
    // server echoes its calculated back-end target. Nothing reaches a back end that acts on it.
    internal const string ProxyLogonCookie = "X-AnonResource=true; X-AnonResource-Backend=localhost/ecp/default.flt?~3; X-BEResource=localhost/owa/auth/logon.aspx?~3;";
    internal const string ProxyShellPath = "/autodiscover/autodiscover.json?@exir.invalid/owa/?&Email=autodiscover/autodiscover.json%3F@exir.invalid";
    // Contains "autodiscover" and "powershell", which the mitigation rule blocks; carries no SSRF.
    internal const string ProxyNotShellPath = "/autodiscover/autodiscover.json?exir-mitigation-check=powershell";

    private readonly ExchangeKnowledge _knowledge;
    private readonly RemoteCheckOptions _options;
    private readonly BoundedHttp _http;

    public RemoteChecker(ExchangeKnowledge knowledge, RemoteCheckOptions? options = null)
    {
        _knowledge = knowledge;
        _options = options ?? new RemoteCheckOptions();
        _http = new BoundedHttp(_options);
    }

    public RemoteCheckOptions Options => _options;

    /// <summary>"mail.example.com", "https://mail.example.com/owa" or "http://127.0.0.1:8080" to the site root; null when not an http(s) address.</summary>
    public static Uri? NormalizeTarget(string host)
    {
        host = host.Trim();
        if (host.Length == 0) return null;
        if (!host.Contains("://", StringComparison.Ordinal)) host = "https://" + host;
        if (!Uri.TryCreate(host, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host.Length == 0) return null;
        return new Uri(u.GetLeftPart(UriPartial.Authority) + "/");
    }

    /// <summary>Fingerprints the host and, when <paramref name="runProbes"/>, runs the safe probes.</summary>
    public async Task<RemoteCheckResult> CheckAsync(string host, bool runProbes = true, CancellationToken cancellationToken = default)
    {
        var warnings = new List<string>();
        if (_options.Insecure) warnings.Add("TLS certificate not verified (--insecure): the answer may come from an impostor");
        var baseUri = NormalizeTarget(host);
        if (baseUri is null)
            return new RemoteCheckResult { Host = host, Error = $"'{host}' is not a host name or http(s) URL", Warnings = warnings };

        var owa = await _http.GetAsync(new Uri(baseUri, "/owa/"), followRedirects: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!owa.Completed && owa.Failure is FetchFailure.Connect or FetchFailure.Tls or FetchFailure.Timeout or FetchFailure.Other or FetchFailure.ConnectionAborted)
        {
            return new RemoteCheckResult
            {
                Host = host, BaseUri = baseUri, Error = owa.Error, Warnings = warnings,
                Probes = runProbes ? AllProbes(ProbeVerdict.Inconclusive, "host not reachable: " + owa.Error) : [],
            };
        }
        if (owa.Error is not null) warnings.Add($"/owa/: {owa.Error}");

        var clues = new List<FingerprintClue>();
        bool exchangeMarker = false;
        if (owa.AnyHopHeader("X-OWA-Version") is { } xowa)
        {
            exchangeMarker = true;
            clues.Add(new FingerprintClue(OwaHeaderSource, xowa, ExchangeBuild.TryParse(xowa, out var hb) && hb.HasRevision ? hb : null, Precision.Su));
        }
        if (owa.AnyHopHeader("X-FEServer") is not null || owa.AnyHopHeader("X-BEServer") is not null) exchangeMarker = true;
        var path = LogonThemePath().Match(owa.Body);
        if (path.Success && ExchangeBuild.TryParse(path.Groups["b"].Value, out var pb))
        {
            exchangeMarker = true;
            clues.Add(new FingerprintClue(LogonPageSource, path.Value, pb, Precision.Cu));
        }
        else if (owa.Body.Contains("/owa/auth/", StringComparison.OrdinalIgnoreCase) && owa.Body.Contains("logon", StringComparison.OrdinalIgnoreCase))
            exchangeMarker = true;

        var export = await _http.GetAsync(new Uri(baseUri, ExportToolPath), followRedirects: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (export.Status == 200)
        {
            var m = ExportToolVersion().Match(export.Body);
            if (m.Success && ExchangeBuild.TryParse(m.Groups["v"].Value, out var eb) && eb.HasRevision)
            {
                exchangeMarker = true;
                clues.Add(new FingerprintClue(ExportToolSource, m.Groups["v"].Value, eb, Precision.Su));
            }
        }
        if (export.AnyHopHeader("X-OWA-Version") is { } xowa2 && clues.All(c => c.Source != OwaHeaderSource))
        {
            exchangeMarker = true;
            clues.Add(new FingerprintClue(OwaHeaderSource, xowa2, ExchangeBuild.TryParse(xowa2, out var hb2) && hb2.HasRevision ? hb2 : null, Precision.Su));
        }

        // Exact sources first; X-OWA-Version before the manifest (it is what the running front end says).
        var fingerprint = clues.Where(c => c.Build is not null)
            .OrderBy(c => c.Precision == Precision.Su ? 0 : 1).ThenBy(c => c.Source == OwaHeaderSource ? 0 : 1).FirstOrDefault();
        var exact = clues.Where(c => c.Build is not null && c.Precision == Precision.Su).Select(c => c.Build!.Value).Distinct().ToList();
        if (exact.Count > 1) warnings.Add("version sources disagree: " + string.Join(", ", clues.Where(c => c.Build is not null).Select(c => $"{c.Source} {c.Build}")));

        if (!exchangeMarker)
        {
            return new RemoteCheckResult
            {
                Host = host, BaseUri = baseUri, Reachable = true, IsExchange = false, Clues = clues, Warnings = warnings,
                Probes = runProbes ? AllProbes(ProbeVerdict.NotApplicable, "host does not answer like Exchange (no OWA/ECP fingerprint); not probed") : [],
            };
        }

        BuildAssessment assessment = fingerprint?.Build is { } fb
            ? _knowledge.Assess(fb, fingerprint.Source, fingerprint.Value, _options.AsOf, baseUri.ToString(), fingerprint.Precision)
            : new BuildAssessment
            {
                Target = baseUri.ToString(), Source = "remote", KnowledgeVersion = _knowledge.Version,
                Error = "Exchange answers but does not disclose its version (no X-OWA-Version, exporttool manifest or logon page path)",
            };

        var probes = new List<ProbeResult>();
        if (runProbes)
        {
            probes.Add(await ProbeProxyLogon(baseUri, cancellationToken).ConfigureAwait(false));
            probes.Add(await ProbeProxyShell(baseUri, cancellationToken).ConfigureAwait(false));
            probes.Add(await ProbeProxyNotShellMitigation(baseUri, assessment, cancellationToken).ConfigureAwait(false));
        }
        return new RemoteCheckResult
        {
            Host = host, BaseUri = baseUri, Reachable = true, IsExchange = true, Clues = clues, Fingerprint = fingerprint,
            Probes = probes, Assessment = assessment, Warnings = warnings,
        };
    }

    private static List<ProbeResult> AllProbes(ProbeVerdict verdict, string detail) =>
    [
        new("CVE-2021-26855 cookie probe", "CVE-2021-26855", verdict, detail),
        new("ProxyShell autodiscover probe", "CVE-2021-34473", verdict, detail),
        new("ProxyNotShell URL Rewrite mitigation", "CVE-2022-41040", verdict, detail),
    ];

    private async Task<ProbeResult> ProbeProxyLogon(Uri baseUri, CancellationToken ct)
    {
        const string name = "CVE-2021-26855 cookie probe";
        var r = await _http.GetAsync(new Uri(baseUri, "/owa/auth/x.js"), followRedirects: false, cookie: ProxyLogonCookie, cancellationToken: ct).ConfigureAwait(false);
        if (!r.Completed) return new(name, "CVE-2021-26855", ProbeVerdict.Inconclusive, "no answer: " + r.Error);
        var target = r.Header("X-CalculatedBETarget");
        if (target is not null && target.Contains("localhost", StringComparison.OrdinalIgnoreCase))
            return new(name, "CVE-2021-26855", ProbeVerdict.Vulnerable, $"X-CalculatedBETarget: {Clip(target)} (the front end routes to a back end chosen by the cookie)");
        return new(name, "CVE-2021-26855", ProbeVerdict.NotVulnerable,
            target is null ? $"HTTP {r.Status}, no X-CalculatedBETarget header" : $"HTTP {r.Status}, X-CalculatedBETarget does not point at localhost");
    }

    private async Task<ProbeResult> ProbeProxyShell(Uri baseUri, CancellationToken ct)
    {
        const string name = "ProxyShell autodiscover probe", cves = "CVE-2021-34473";
        var r = await _http.GetAsync(new Uri(baseUri, ProxyShellPath), followRedirects: false, cancellationToken: ct).ConfigureAwait(false);
        if (!r.Completed) return new(name, cves, ProbeVerdict.Inconclusive, "no answer: " + r.Error);
        return r.Status switch
        {
            302 => new(name, cves, ProbeVerdict.Vulnerable, $"HTTP 302 to {Clip(r.Header("Location") ?? "?")}: the explicit-logon path confusion reaches a back end"),
            400 => new(name, cves, ProbeVerdict.NotVulnerable, "HTTP 400: the path confusion is rejected (patched)"),
            _ => new(name, cves, ProbeVerdict.Inconclusive, $"HTTP {r.Status}: neither the vulnerable (302) nor the patched (400) answer"),
        };
    }

    private async Task<ProbeResult> ProbeProxyNotShellMitigation(Uri baseUri, BuildAssessment assessment, CancellationToken ct)
    {
        const string name = "ProxyNotShell URL Rewrite mitigation", cves = "CVE-2022-41040";
        var r = await _http.GetAsync(new Uri(baseUri, ProxyNotShellPath), followRedirects: false, cancellationToken: ct).ConfigureAwait(false);
        var status = assessment.Cves.FirstOrDefault(c => c.Id == "CVE-2022-41040");
        var fixedByBuild = assessment.Error is null && (status is null || status.State == CveState.Fixed);
        var relevance = fixedByBuild ? " (the build is not affected by or already fixes CVE-2022-41040; the rule is not needed)" : "";
        if (r.Failure is FetchFailure.ConnectionAborted)
            return new(name, cves, ProbeVerdict.MitigationActive, "request naming autodiscover+powershell was aborted (URL Rewrite AbortRequest)" + relevance);
        if (!r.Completed) return new(name, cves, ProbeVerdict.Inconclusive, "no answer: " + r.Error);
        if (r.Status == 403)
            return new(name, cves, ProbeVerdict.MitigationActive, "request naming autodiscover+powershell was refused with 403" + relevance);
        return new(name, cves, ProbeVerdict.MitigationAbsent, $"request naming autodiscover+powershell passed (HTTP {r.Status}): no URL Rewrite block" + relevance);
    }

    private static string Clip(string s) => s.Length <= 120 ? s : s[..120] + "...";

    // Exchange 2013+: /owa/auth/15.1.2176/themes/...; 2010: /owa/14.3.123.4/themes/...
    [GeneratedRegex(@"/owa/(?:auth/)?(?<b>1[45]\.\d{1,2}\.\d{1,5}(?:\.\d{1,5})?)/(?:themes|scripts)/", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LogonThemePath();

    [GeneratedRegex(@"<assemblyIdentity\b[^>]*?\bversion\s*=\s*""(?<v>\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5})""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ExportToolVersion();

    public void Dispose() => _http.Dispose();
}
