using System.Net.Sockets;
using System.Text;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>A response read off a raw connection.</summary>
public sealed record RawResponse(int Status, string StatusLine, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A TCP connection speaking HTTP/1.1 by hand: exact bytes out (hostile framing, odd targets, trickled headers),
/// responses parsed back (Content-Length, chunked, or to the end).
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 << 10];
    private int _start, _end;

    private RawHttpConnection(TcpClient tcp, Stream stream) { _tcp = tcp; _stream = stream; }

    public static async Task<RawHttpConnection> ConnectAsync(Uri address, CancellationToken ct = default)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(address.Host, address.Port, ct);
        Stream stream = tcp.GetStream();
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            var ssl = new System.Net.Security.SslStream(stream, false, (_, _, _, _) => true);
            await ssl.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" }, ct);
            stream = ssl;
        }
        return new RawHttpConnection(tcp, stream);
    }

    public async Task SendAsync(string text, CancellationToken ct = default) => await SendAsync(Encoding.Latin1.GetBytes(text), ct);

    public async Task SendAsync(byte[] bytes, CancellationToken ct = default)
    {
        await _stream.WriteAsync(bytes, ct);
        await _stream.FlushAsync(ct);
    }

    /// <summary>Reads one response; null when the peer closed before a status line.</summary>
    public async Task<RawResponse?> ReadResponseAsync(TimeSpan timeout, bool headOnly = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        var ct = cts.Token;
        var statusLine = await ReadLineAsync(ct);
        if (statusLine is null) return null;
        var headers = new List<KeyValuePair<string, string>>();
        while (await ReadLineAsync(ct) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':');
            if (colon > 0) headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        var parts = statusLine.Split(' ', 3);
        var status = parts.Length > 1 && int.TryParse(parts[1], out var s) ? s : 0;
        string? Get(string n) => headers.FirstOrDefault(h => h.Key.Equals(n, StringComparison.OrdinalIgnoreCase)).Value;
        var body = new MemoryStream();
        if (!headOnly && status is not (204 or 304) && status >= 200)
        {
            if (Get("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
            {
                while (true)
                {
                    var sizeLine = await ReadLineAsync(ct) ?? throw new IOException("connection closed inside a chunked body");
                    var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                    if (size == 0) { while (await ReadLineAsync(ct) is { Length: > 0 }) { } break; }
                    await ReadExactAsync(body, size, ct);
                    await ReadLineAsync(ct);
                }
            }
            else if (Get("Content-Length") is { } cl) await ReadExactAsync(body, long.Parse(cl), ct);
            else
                while (await FillAsync(ct)) { body.Write(_buffer, _start, _end - _start); _start = _end; }
        }
        return new RawResponse(status, statusLine, headers, body.ToArray());
    }

    /// <summary>True when the peer closed the connection (reads end) within the timeout.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                if (!await FillAsync(cts.Token)) return true;
                _start = _end; // discard whatever else comes
            }
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start < _end) return true;
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, ct);
        return _end > 0;
    }

    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (!await FillAsync(ct)) return line.Length > 0 ? line.ToString() : null;
            var b = _buffer[_start++];
            if (b == '\n') return line.ToString().TrimEnd('\r');
            line.Append((char)b);
        }
    }

    private async Task ReadExactAsync(MemoryStream into, long count, CancellationToken ct)
    {
        while (count > 0)
        {
            if (!await FillAsync(ct)) throw new IOException("connection closed inside a body");
            var n = (int)Math.Min(count, _end - _start);
            into.Write(_buffer, _start, n);
            _start += n;
            count -= n;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
