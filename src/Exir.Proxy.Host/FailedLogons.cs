using System.Collections.Concurrent;
using System.Net;
using System.Threading.RateLimiting;

namespace Exir.Proxy.Host;

/// <summary>
/// Password spraying: failed logons per client address in a sliding window; past the limit the address is locked out
/// of the authenticating routes for one window. A failed logon is a 401 that ends a handshake (the request carried
/// credentials and the answer offers no continuation token), so the NTLM/Negotiate challenge leg never counts.
/// </summary>
public sealed class FailedLogons : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _limiter;
    private readonly ConcurrentDictionary<IPAddress, long> _lockedUntil = new();
    private readonly TimeSpan _window;
    private readonly Func<long> _now;

    public FailedLogons(int limit, TimeSpan window, Func<long>? now = null)
    {
        _window = window;
        _now = now ?? (() => Environment.TickCount64);
        _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(ip => RateLimitPartition.GetSlidingWindowLimiter(ip, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit, Window = window, SegmentsPerWindow = 6, QueueLimit = 0, AutoReplenishment = true,
        }));
    }

    public bool IsLockedOut(IPAddress client)
    {
        if (!_lockedUntil.TryGetValue(client, out var until)) return false;
        if (_now() < until) return true;
        _lockedUntil.TryRemove(new KeyValuePair<IPAddress, long>(client, until));
        return false;
    }

    /// <summary>Counts one failure; true when it locked the address out.</summary>
    public bool Failed(IPAddress client)
    {
        using var lease = _limiter.AttemptAcquire(client);
        if (lease.IsAcquired) return false;
        _lockedUntil[client] = _now() + (long)_window.TotalMilliseconds;
        return true;
    }

    /// <summary>Whether an answer is a failed logon: credentials sent, refused without a challenge to go on with; or OWA's logon page with reason=2.</summary>
    public static bool IsFailure(string method, string? authorization, int status, IEnumerable<string?> wwwAuthenticate, string? location, string pathLower)
    {
        if (status == 401)
        {
            if (string.IsNullOrEmpty(authorization)) return false;
            foreach (var challenge in wwwAuthenticate)
            {
                if (challenge is null) continue;
                var sp = challenge.Trim().IndexOf(' ');
                var scheme = sp < 0 ? challenge.Trim() : challenge.Trim()[..sp];
                // "NTLM <token>" / "Negotiate <token>": the handshake goes on; not a failure yet.
                if (sp > 0 && !scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return false;
            }
            return true;
        }
        // OWA forms logon: a wrong password answers 302 to the logon page with reason=2.
        return status == 302 && method == "POST" && pathLower.StartsWith("/owa/auth", StringComparison.Ordinal)
               && location is not null && location.Contains("reason=2", StringComparison.OrdinalIgnoreCase);
    }

    public void Dispose() => _limiter.Dispose();
}
