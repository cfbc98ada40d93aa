using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Exir.Proxy.Host;

/// <summary>Counters for the admin listener's /metrics, in Prometheus' text exposition format.</summary>
public sealed class ProxyMetrics
{
    private readonly ConcurrentDictionary<string, long> _byAction = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _byRule = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, long> _refusedByStatus = new();
    private long _connections, _upstreams, _upstreamErrors, _failedLogons, _lockouts, _reloads, _reloadErrors, _earlyAnswers, _refusalsNotReported;

    public void Request(string action) => _byAction.AddOrUpdate(action, 1, (_, n) => n + 1);
    public void Rule(string id) => _byRule.AddOrUpdate(id, 1, (_, n) => n + 1);
    public void ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
    public void UpstreamOpened() => Interlocked.Increment(ref _upstreams);
    public void UpstreamClosed() => Interlocked.Decrement(ref _upstreams);
    public void UpstreamError() => Interlocked.Increment(ref _upstreamErrors);
    public void FailedLogon() => Interlocked.Increment(ref _failedLogons);
    public void Lockout() => Interlocked.Increment(ref _lockouts);
    public void EarlyAnswer() => Interlocked.Increment(ref _earlyAnswers);
    public void Refused(int status) => _refusedByStatus.AddOrUpdate(status, 1, (_, n) => n + 1);
    public void RefusalNotReported() => Interlocked.Increment(ref _refusalsNotReported);
    public long RefusalsNotReported => Interlocked.Read(ref _refusalsNotReported);
    public void Reloaded(bool ok) => Interlocked.Increment(ref ok ? ref _reloads : ref _reloadErrors);
    public long Requests(string action) => _byAction.TryGetValue(action, out var n) ? n : 0;
    public long OpenUpstreams => Interlocked.Read(ref _upstreams);

    public string Render()
    {
        var sb = new StringBuilder();
        void Counter(string name, string help, string type = "counter")
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }
        void Value(string name, long v, string? label = null) =>
            sb.Append(name).Append(label ?? "").Append(' ').Append(v.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Counter("exir_proxy_requests_total", "Requests by what the proxy did with them.");
        foreach (var (a, n) in _byAction.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Value("exir_proxy_requests_total", n, $"{{action=\"{a}\"}}");
        Counter("exir_proxy_rule_matches_total", "Requests each rule matched.");
        foreach (var (r, n) in _byRule.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Value("exir_proxy_rule_matches_total", n, $"{{rule=\"{r}\"}}");
        Counter("exir_proxy_client_connections", "Open client connections.", "gauge");
        Value("exir_proxy_client_connections", Interlocked.Read(ref _connections));
        Counter("exir_proxy_upstream_connections", "Upstream connections, one pinned to each client connection that sent a request.", "gauge");
        Value("exir_proxy_upstream_connections", Interlocked.Read(ref _upstreams));
        Counter("exir_proxy_upstream_errors_total", "Requests the backend did not answer (connect, TLS, timeout).");
        Value("exir_proxy_upstream_errors_total", Interlocked.Read(ref _upstreamErrors));
        Counter("exir_proxy_failed_logons_total", "Failed logons seen in answers (401 after credentials, OWA reason=2).");
        Value("exir_proxy_failed_logons_total", Interlocked.Read(ref _failedLogons));
        Counter("exir_proxy_lockouts_total", "Client addresses locked out for too many failed logons.");
        Value("exir_proxy_lockouts_total", Interlocked.Read(ref _lockouts));
        Counter("exir_proxy_refused_by_parser_total", "Requests the HTTP server refused before the proxy's rules saw them (malformed), by status.");
        foreach (var (st, n) in _refusedByStatus.OrderBy(kv => kv.Key)) Value("exir_proxy_refused_by_parser_total", n, $"{{status=\"{st}\"}}");
        Counter("exir_proxy_refusal_findings_not_reported_total", "Refused requests beyond the findings rate limit: in the access log and counted, without a finding.");
        Value("exir_proxy_refusal_findings_not_reported_total", Interlocked.Read(ref _refusalsNotReported));
        Counter("exir_proxy_early_answers_total", "Answers Exchange gave before the request body ended, passed on at once (the body's rest not read, the connection closed).");
        Value("exir_proxy_early_answers_total", Interlocked.Read(ref _earlyAnswers));
        Counter("exir_proxy_config_reloads_total", "Config reloads applied.");
        Value("exir_proxy_config_reloads_total", Interlocked.Read(ref _reloads));
        Counter("exir_proxy_config_reload_errors_total", "Config reloads refused (the running config stays).");
        Value("exir_proxy_config_reload_errors_total", Interlocked.Read(ref _reloadErrors));
        return sb.ToString();
    }
}
