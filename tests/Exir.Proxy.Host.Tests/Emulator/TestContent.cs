using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>
/// A request body sent in pieces with pauses, under a declared Content-Length that may be larger than what is sent
/// (RPC_IN_DATA declares 1 GB): after the last piece it waits until the request is cancelled.
/// </summary>
public sealed class SlowContent : HttpContent
{
    private readonly long _declared;
    private readonly int _chunk;
    private readonly int _chunks;
    private readonly TimeSpan _pause;
    private readonly byte[] _data;

    public SlowContent(long declared, int chunk, int chunks, TimeSpan pause, int seed = 6001)
    {
        _declared = declared; _chunk = chunk; _chunks = chunks; _pause = pause;
        _data = new byte[(long)chunk * chunks];
        new Random(seed).NextBytes(_data);
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(_data));
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/rpc");
    }

    /// <summary>SHA-256 of the bytes actually sent.</summary>
    public string Sha256 { get; }
    public long Sent { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken ct)
    {
        for (var i = 0; i < _chunks; i++)
        {
            await stream.WriteAsync(_data.AsMemory(i * _chunk, _chunk), ct);
            await stream.FlushAsync(ct);
            Sent += _chunk;
            if (_pause > TimeSpan.Zero) await Task.Delay(_pause, ct);
        }
        if (_declared > _data.Length) await Task.Delay(Timeout.Infinite, ct); // the rest never comes
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _declared;
        return true;
    }
}

/// <summary>A MAPI/HTTP response body's meta-tag lines (PROCESSING, PENDING, DONE) with their arrival times.</summary>
public sealed record MapiLine(string Text, TimeSpan At, byte[]? Payload = null);

public static class MapiStream
{
    /// <summary>
    /// Reads PROCESSING/PENDING/DONE lines as they arrive (each stamped with the clock), then DONE's header lines,
    /// the blank line and the payload; the last element carries the payload.
    /// </summary>
    public static async Task<List<MapiLine>> ReadMetaLinesAsync(Stream body, Stopwatch clock, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var lines = new List<MapiLine>();
        var buffer = new byte[4096];
        var pending = new List<byte>();
        var afterDone = false;
        while (true)
        {
            var n = await body.ReadAsync(buffer, cts.Token);
            var at = clock.Elapsed;
            if (n == 0) break;
            pending.AddRange(buffer.AsSpan(0, n).ToArray());
            while (!afterDone)
            {
                var nl = pending.IndexOf((byte)'\n');
                if (nl < 0) break;
                var line = Encoding.ASCII.GetString(pending.GetRange(0, nl).ToArray()).TrimEnd('\r');
                pending.RemoveRange(0, nl + 1);
                lines.Add(new MapiLine(line, at));
                if (line == "DONE") afterDone = true;
            }
            if (afterDone)
            {
                // Header lines up to the blank line, then the payload to the end.
                var text = pending.ToArray();
                var end = IndexOf(text, "\r\n\r\n"u8);
                if (end >= 0 && lines[^1].Text == "DONE")
                {
                    foreach (var h in Encoding.ASCII.GetString(text, 0, end).Split("\r\n")) lines.Add(new MapiLine(h, at));
                    pending.RemoveRange(0, end + 4);
                    lines.Add(new MapiLine("", at));
                }
            }
        }
        if (lines.Count > 0) lines[^1] = lines[^1] with { Payload = pending.ToArray() };
        return lines;
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> what) => data.AsSpan().IndexOf(what);
}
