using System.Security.Cryptography;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>
/// One request as the emulator received it. Added when the request line and headers arrived (so a test sees a
/// long-running request while it runs); body counters and the outcome fill in as it goes.
/// </summary>
public sealed class RecordedRequest
{
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bodyBytes;
    private long _responseBytes;
    private int _status;

    public required long Sequence { get; init; }
    public required string ConnectionId { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }
    public required string Scheme { get; init; }
    public required string Method { get; init; }
    /// <summary>The request target exactly as sent (IHttpRequestFeature.RawTarget), percent-encoding untouched.</summary>
    public required string RawTarget { get; init; }
    public required string Protocol { get; init; }
    public required string RemoteAddress { get; init; }
    /// <summary>
    /// Every header line's name and value as received (Latin-1, byte for byte). Kestrel groups repeated names and
    /// lists well-known headers first, so the order is Kestrel's, not necessarily the wire's; compare as a multiset.
    /// </summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    /// <summary>Body bytes received so far (live while a body streams in).</summary>
    public long BodyBytesSoFar => Interlocked.Read(ref _bodyBytes);
    /// <summary>The whole body when it ended and was at most EmulatorOptions.BodyRecordLimit bytes; else null.</summary>
    public byte[]? Body { get; private set; }
    /// <summary>Body length once the body ended; -1 while it streams, when the client gave up, or when it was never read.</summary>
    public long BodyLength { get; private set; } = -1;
    /// <summary>SHA-256 (lower-case hex) of the body once it ended.</summary>
    public string? BodySha256 { get; private set; }
    public bool BodyComplete => BodyLength >= 0;
    /// <summary>False when the emulator answered without reading the body (a refused login with a large body).</summary>
    public bool BodyRead { get; internal set; }
    /// <summary>The status sent (0 until the response started).</summary>
    public int Status { get => Volatile.Read(ref _status); internal set => Volatile.Write(ref _status, value); }
    /// <summary>The authenticated user this request was answered as (NTLM, Basic or OWA forms), or null.</summary>
    public string? User { get; internal set; }
    /// <summary>Why authentication did what it did ("ntlm-challenge", "ntlm-ok", "ntlm-no-challenge-on-connection", ...).</summary>
    public string? AuthNote { get; internal set; }
    /// <summary>Response body bytes written so far (live for MAPI PENDING and RPC_OUT_DATA).</summary>
    public long ResponseBytesSoFar => Interlocked.Read(ref _responseBytes);
    /// <summary>An exception the emulator's handler threw (a bug in the emulator, or input it cannot take); answered 500.</summary>
    public Exception? Error { get; internal set; }
    /// <summary>True when the client went away before the response ended.</summary>
    public bool Aborted { get; internal set; }
    /// <summary>Ends when the emulator finished with the request (response sent or client gone).</summary>
    public Task Completed => _completed.Task;

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    public IEnumerable<string> HeaderValues(string name) =>
        Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    internal void AddBodyBytes(int n) => Interlocked.Add(ref _bodyBytes, n);
    internal void AddResponseBytes(int n) => Interlocked.Add(ref _responseBytes, n);

    internal void EndBody(byte[]? body, long length, IncrementalHash hash)
    {
        Body = body;
        BodySha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        BodyLength = length;
    }

    internal void Complete() => _completed.TrySetResult();

    public override string ToString() => $"#{Sequence} {Method} {RawTarget} conn={ConnectionId} status={Status} user={User ?? "-"}";
}
