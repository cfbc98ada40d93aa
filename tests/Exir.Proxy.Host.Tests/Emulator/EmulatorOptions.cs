using System.Collections.Concurrent;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>How the emulator behaves. Settable properties are read per request, so a test may change them while it runs.</summary>
public sealed class EmulatorOptions
{
    /// <summary>Also listen with TLS (a self-signed certificate made in memory, <see cref="ExchangeEmulator.Certificate"/>).</summary>
    public bool Https { get; init; }
    /// <summary>Plain HTTP too (on by default; off for a TLS-only backend).</summary>
    public bool Http { get; init; } = true;
    /// <summary>The plain HTTP port (0: any free one).</summary>
    public int HttpPort { get; init; }

    /// <summary>Windows-authenticated virtual directories ask for a login (as IIS does). Off: everything anonymous.</summary>
    public bool RequireAuthentication { get; set; } = true;

    /// <summary>user name (case-insensitive) to password; NTLM type 3, Basic and OWA forms logins check it.</summary>
    public ConcurrentDictionary<string, string> Users { get; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["jdoe"] = "Winter2026!jdoe",
        ["asmith"] = "Summer2026!asmith",
        ["administrator"] = "Adm1n!Passw0rd",
    };

    /// <summary>The NetBIOS domain in the type 2 message and accepted in the type 3.</summary>
    public string Domain { get; init; } = "CONTOSO";
    public string ServerName { get; init; } = "EXCH01";

    /// <summary>MAPI/HTTP: PENDING every this long (real Exchange: 30 s), this many times, then DONE.</summary>
    public TimeSpan MapiPendingInterval { get; set; } = TimeSpan.FromMilliseconds(200);
    public int MapiPendingCount { get; set; } = 3;

    /// <summary>ActiveSync Ping held this long before its answer (real: the HeartbeatInterval, up to 3540 s).</summary>
    public TimeSpan PingHold { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>RPC_OUT_DATA: a chunk of this size every interval, under this declared Content-Length.</summary>
    public TimeSpan RpcOutChunkInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    public int RpcOutChunkSize { get; set; } = 1024;
    public long RpcOutContentLength { get; set; } = 1L << 30;

    /// <summary>Bodies up to this size are kept whole in the record; larger ones only counted and hashed.</summary>
    public int BodyRecordLimit { get; set; } = 16 << 20;

    /// <summary>Size of the binary OAB file (GET /OAB/guid/*.lzx).</summary>
    public int OabFileSize { get; set; } = 256 << 10;

    /// <summary>Adds user01..userNN with password "Pw!userNN" and returns the names.</summary>
    public IReadOnlyList<string> AddNumberedUsers(int count)
    {
        var names = new List<string>();
        for (var i = 1; i <= count; i++)
        {
            var name = $"user{i:00}";
            Users[name] = PasswordOf(name);
            names.Add(name);
        }
        return names;
    }

    public static string PasswordOf(string numberedUser) => $"Pw!{numberedUser}";
}
