using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>The Exchange emulator on its own: what the proxy tests rely on it to do.</summary>
public sealed class EmulatorTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Ntlm_logon_holds_for_the_connection_that_made_it()
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var a = new NtlmTestClient(emu.Address);

        var (first, challenge) = await a.NegotiateAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        Assert.NotNull(challenge);
        Assert.Equal(8, challenge!.Length);

        var ok = await a.AuthenticateAsync("jdoe", emu.Options.Users["jdoe"], challenge);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("jdoe", NtlmTestClient.UserOf(ok));

        // Later requests on the same connection carry no Authorization and are still jdoe's (IIS persists NTLM per connection).
        var later = await a.GetAsync("/EWS/Exchange.asmx");
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        Assert.Equal("jdoe", NtlmTestClient.UserOf(later));
        var mapi = await a.GetAsync("/mapi/emsmdb/");
        Assert.Equal("jdoe", NtlmTestClient.UserOf(mapi));

        var records = emu.Requests;
        Assert.Equal(4, records.Count);
        Assert.Single(records.Select(r => r.ConnectionId).Distinct());
        Assert.Equal(["ntlm-challenge", "ntlm-ok", "ntlm-connection", "ntlm-connection"], records.Select(r => r.AuthNote));

        // Another connection without a logon gets the challenge list, not jdoe.
        using var b = new NtlmTestClient(emu.Address);
        var anonymous = await b.GetAsync("/EWS/Exchange.asmx");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(["Negotiate", "NTLM", "Basic"], anonymous.Headers.WwwAuthenticate.Select(h => h.Scheme));
        Assert.Equal("", NtlmTestClient.UserOf(anonymous) ?? "");
        Assert.NotEqual(records[0].ConnectionId, emu.Requests[^1].ConnectionId);
    }

    [Fact]
    public async Task A_type3_counts_only_on_the_connection_that_got_the_challenge_and_only_once()
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var a = new NtlmTestClient(emu.Address);
        using var b = new NtlmTestClient(emu.Address);
        var password = emu.Options.Users["asmith"];

        var (_, challenge) = await a.NegotiateAsync();
        var elsewhere = await b.AuthenticateAsync("asmith", password, challenge!);
        Assert.Equal(HttpStatusCode.Unauthorized, elsewhere.StatusCode);
        Assert.Equal("ntlm-no-challenge-on-connection", emu.Requests[^1].AuthNote);

        // The same type 3 on the right connection works ...
        var home = await a.AuthenticateAsync("asmith", password, challenge!);
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal("asmith", NtlmTestClient.UserOf(home));
        // ... once: replayed, the challenge is spent.
        var replay = await a.AuthenticateAsync("asmith", password, challenge!);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        // And b never became asmith.
        Assert.Equal(HttpStatusCode.Unauthorized, (await b.GetAsync("/mapi/emsmdb/")).StatusCode);
    }

    [Fact]
    public async Task Wrong_passwords_are_refused_and_counted_per_user()
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var client = new NtlmTestClient(emu.Address);
        for (var i = 0; i < 3; i++)
        {
            var r = await client.LoginAsync("jdoe", "Spring2026!");
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        var unknown = await client.LoginAsync("nobody", "x");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(3, emu.FailedLogins("jdoe"));
        Assert.Equal(1, emu.FailedLogins("nobody"));
        // The right password still works on the same connection afterwards.
        Assert.Equal("jdoe", NtlmTestClient.UserOf(await client.LoginAsync("jdoe", emu.Options.Users["jdoe"])));
    }

    [Theory]
    [InlineData("/EWS/Exchange.asmx", "CONTOSO\\jdoe")]
    [InlineData("/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=jdoe&DeviceId=ApplDNPXK1234567&DeviceType=iPhone", "jdoe@contoso.com")]
    public async Task Basic_works_per_request_where_Exchange_allows_it(string path, string login)
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var client = new NtlmTestClient(emu.Address);
        HttpRequestMessage Request(string password)
        {
            var m = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Wbxml.FolderSyncRequest("0")) };
            m.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login}:{password}")));
            return m;
        }
        var ok = await client.SendAndDrainAsync(Request(emu.Options.Users["jdoe"]));
        Assert.True(ok.IsSuccessStatusCode || ok.StatusCode == HttpStatusCode.InternalServerError, ok.StatusCode.ToString()); // EWS: no SOAP body, fault
        Assert.Equal("jdoe", NtlmTestClient.UserOf(ok));
        var bad = await client.SendAndDrainAsync(Request("wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Contains(bad.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        Assert.Equal(1, emu.FailedLogins("jdoe"));
        // Basic does not stick to the connection.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/EWS/Exchange.asmx")).StatusCode);
    }

    [Fact]
    public async Task Mapi_PENDING_lines_arrive_one_by_one_before_DONE()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { MapiPendingInterval = TimeSpan.FromMilliseconds(300), MapiPendingCount = 4 });
        using var client = new NtlmTestClient(emu.Address);
        Assert.Equal("jdoe", NtlmTestClient.UserOf(await client.LoginAsync("jdoe", emu.Options.Users["jdoe"], "/mapi/emsmdb/")));

        var requestBody = RandomNumberGenerator.GetBytes(149);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mapi/emsmdb/?MailboxId=4f1c2d3e-1234-4abc-9def-0123456789ab@contoso.com") { Content = new ByteArrayContent(requestBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/mapi-http");
        request.Headers.Add("X-RequestType", "Execute");
        request.Headers.Add("X-ClientInfo", "{2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}:1");
        request.Headers.Add("X-RequestId", "{E2EA6713-7E83-4A0A-9E4E-6A2D2BD2D2B7}:2");
        var clock = Stopwatch.StartNew();
        using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/mapi-http", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0", response.Headers.GetValues("X-ResponseCode").Single());
        Assert.Equal("jdoe", NtlmTestClient.UserOf(response));

        var lines = await MapiStream.ReadMetaLinesAsync(await response.Content.ReadAsStreamAsync(), clock);
        Assert.Equal(["PROCESSING", "PENDING", "PENDING", "PENDING", "PENDING", "DONE"], lines.Select(l => l.Text).Take(6));
        // Streamed, not buffered: the first line came long before DONE (4 x 300 ms apart at the source).
        var done = lines.First(l => l.Text == "DONE").At;
        Assert.True(done - lines[0].At > TimeSpan.FromMilliseconds(600), $"PROCESSING at {lines[0].At}, DONE at {done}");
        var record = emu.Requests[^1];
        Assert.Equal(requestBody, record.Body);
        Assert.Equal(ExchangeEmulator.MapiPayload("Execute", requestBody), lines[^1].Payload);
    }

    [Fact]
    public async Task ActiveSync_Ping_is_held_and_Sync_is_not()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { RequireAuthentication = false, PingHold = TimeSpan.FromSeconds(3) });
        using var client = new NtlmTestClient(emu.Address);

        async Task<(HttpResponseMessage, TimeSpan)> Post(string query, byte[] body)
        {
            var m = new HttpRequestMessage(HttpMethod.Post, "/Microsoft-Server-ActiveSync" + query) { Content = new ByteArrayContent(body) };
            m.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.ms-sync.wbxml");
            m.Headers.Add("MS-ASProtocolVersion", "16.1");
            var clock = Stopwatch.StartNew();
            var r = await client.SendAndDrainAsync(m);
            return (r, clock.Elapsed);
        }

        var (sync, syncTime) = await Post("?Cmd=Sync&User=jdoe&DeviceId=ApplDNPXK1234567&DeviceType=iPhone", Wbxml.SyncRequest("1", "5"));
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
        Assert.Equal(Wbxml.SyncOk, await sync.Content.ReadAsByteArrayAsync());
        Assert.True(syncTime < TimeSpan.FromSeconds(2.5), $"Sync took {syncTime}");

        var (ping, pingTime) = await Post("?Cmd=Ping&User=jdoe&DeviceId=ApplDNPXK1234567&DeviceType=iPhone", Wbxml.PingRequest(480));
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal(Wbxml.PingExpired, await ping.Content.ReadAsByteArrayAsync());
        Assert.True(pingTime >= TimeSpan.FromSeconds(2.9), $"Ping answered after {pingTime}");

        // The base64 query form (MS-ASHTTP): version 141, command 18 = Ping.
        var (ping64, ping64Time) = await Post("?" + ActiveSyncShapes.Base64Query(18, "ApplDNPXK1234567", "iPhone"), Wbxml.PingRequest(480));
        Assert.Equal(Wbxml.PingExpired, await ping64.Content.ReadAsByteArrayAsync());
        Assert.True(ping64Time >= TimeSpan.FromSeconds(2.9), $"base64 Ping answered after {ping64Time}");
    }

    [Fact]
    public async Task ActiveSync_OPTIONS_lists_versions_and_commands()
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var client = new NtlmTestClient(emu.Address);
        var m = new HttpRequestMessage(HttpMethod.Options, "/Microsoft-Server-ActiveSync");
        m.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("jdoe:" + emu.Options.Users["jdoe"])));
        var r = await client.SendAndDrainAsync(m);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("16.1", r.Headers.GetValues("MS-ASProtocolVersions").Single());
        Assert.Contains("Ping", r.Headers.GetValues("MS-ASProtocolCommands").Single());
    }

    [Fact]
    public async Task RPC_IN_DATA_is_counted_as_it_streams_and_RPC_OUT_DATA_keeps_sending()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { RequireAuthentication = false, RpcOutChunkInterval = TimeSpan.FromMilliseconds(20), RpcOutChunkSize = 4096 });
        using var client = new NtlmTestClient(emu.Address);

        // 1 GB declared, 3 MB sent slowly, then the client waits: the emulator has seen the bytes already.
        var content = new SlowContent(1L << 30, chunk: 64 << 10, chunks: 48, pause: TimeSpan.FromMilliseconds(5));
        using var request = new HttpRequestMessage(new HttpMethod("RPC_IN_DATA"), "/rpc/rpcproxy.dll?exch01.contoso.com:6001") { Content = content };
        request.Headers.UserAgent.ParseAdd("MSRPC");
        using var cts = new CancellationTokenSource();
        var sending = client.Http.SendAsync(request, cts.Token);
        var record = await emu.WaitForRequestAsync(r => r.Method == "RPC_IN_DATA", Generous);
        Assert.True(await ExchangeEmulator.EventuallyAsync(() => record.BodyBytesSoFar == 48 * (64 << 10), Generous), $"{record.BodyBytesSoFar} bytes");
        Assert.False(record.BodyComplete);
        Assert.Equal("1073741824", record.Header("Content-Length"));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        await record.Completed.WaitAsync(Generous);
        Assert.False(record.BodyComplete);

        // A body that ends is counted and hashed whole.
        var full = new SlowContent(3 << 20, chunk: 256 << 10, chunks: 12, pause: TimeSpan.FromMilliseconds(2));
        using var request2 = new HttpRequestMessage(new HttpMethod("RPC_IN_DATA"), "/rpc/rpcproxy.dll?exch01.contoso.com:6001") { Content = full };
        var done = await client.Http.SendAsync(request2);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var record2 = emu.Requests[^1];
        Assert.Equal(3 << 20, record2.BodyLength);
        Assert.Equal(full.Sha256, record2.BodySha256);

        // RPC_OUT_DATA: 1 GB declared, a chunk every 20 ms for as long as the client reads.
        using var outRequest = new HttpRequestMessage(new HttpMethod("RPC_OUT_DATA"), "/rpc/rpcproxy.dll?exch01.contoso.com:6004") { Content = new ByteArrayContent(new byte[76]) };
        using var outResponse = await client.Http.SendAsync(outRequest, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(1L << 30, outResponse.Content.Headers.ContentLength);
        await using var stream = await outResponse.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        long read = 0;
        var reads = 0;
        while (read < 10 * 4096)
        {
            var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(Generous);
            Assert.True(n > 0);
            read += n;
            reads++;
        }
        Assert.True(reads >= 2);
        var outRecord = emu.Requests[^1];
        Assert.Equal("RPC_OUT_DATA", outRecord.Method);
        outResponse.Dispose();
        await outRecord.Completed.WaitAsync(Generous);
        Assert.True(outRecord.ResponseBytesSoFar < 1L << 30);
    }

    [Fact]
    public async Task Responses_leak_what_Exchange_leaks_and_unknown_paths_are_404()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { RequireAuthentication = false });
        using var client = new NtlmTestClient(emu.Address);
        var owa = await client.GetAsync("/owa/");
        Assert.Equal(HttpStatusCode.Found, owa.StatusCode);
        foreach (var h in ExchangeEmulator.LeakingHeaders) Assert.True(owa.Headers.Contains(h), h);
        Assert.Equal("Microsoft-IIS/10.0", owa.Headers.Server.ToString());
        foreach (var path in new[] { "/", "/exchange/", "/aspnet_client/system_web/shell.aspx", "/owa/auth/x.js" })
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task Raw_target_headers_and_body_are_recorded_as_sent()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { RequireAuthentication = false });
        await using var raw = await RawHttpConnection.ConnectAsync(emu.Address);
        var body = "{\"__type\":\"CreateAttachmentJsonRequest:#Exchange\",\"Body\":{\"Content\":\"" + new string('A', 5000) + "\"}}";
        const string target = "/owa/service.svc?action=CreateAttachment&UA=0&%41=%2541";
        await raw.SendAsync($"POST {target} HTTP/1.1\r\nHost: mail.contoso.com\r\nX-OWA-CANARY: abc\r\nX-Custom: caf\u00e9 value\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        var response = await raw.ReadResponseAsync(Generous);
        Assert.Equal(440, response!.Status); // no OWA session
        var r = emu.Requests.Single();
        Assert.Equal(target, r.RawTarget);
        Assert.Equal("HTTP/1.1", r.Protocol);
        Assert.Equal("caf\u00e9 value", r.Header("X-Custom"));
        Assert.Equal(["a=1", "b=2"], r.HeaderValues("Cookie"));
        Assert.Equal(Encoding.ASCII.GetBytes(body), r.Body);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(body))), r.BodySha256);
        Assert.Equal(response.Header(ExchangeEmulator.ConnectionHeader), r.ConnectionId);
    }

    [Fact]
    public async Task Owa_forms_logon_session_and_canary()
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var client = new NtlmTestClient(emu.Address);
        var wrong = await client.SendAndDrainAsync(OwaShapes.LogonPost("jdoe@contoso.com", "nope"));
        Assert.Equal(HttpStatusCode.Found, wrong.StatusCode);
        Assert.Contains("reason=2", wrong.Headers.Location!.OriginalString);
        Assert.Equal(1, emu.FailedLogins("jdoe"));

        var logon = await client.SendAndDrainAsync(OwaShapes.LogonPost("CONTOSO\\jdoe", emu.Options.Users["jdoe"]));
        Assert.Equal(HttpStatusCode.Found, logon.StatusCode);
        var cookies = logon.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]).ToList();
        Assert.Contains(cookies, c => c.StartsWith("cadata=", StringComparison.Ordinal));
        var cookieHeader = string.Join("; ", cookies);

        var start = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        start.Headers.Add("Cookie", cookieHeader);
        var page = await client.SendAndDrainAsync(start);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("jdoe", NtlmTestClient.UserOf(page));
        var canary = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("X-OWA-CANARY=", StringComparison.Ordinal)).Split(';')[0]["X-OWA-CANARY=".Length..];

        var attachment = RandomNumberGenerator.GetBytes(300_000);
        var upload = OwaShapes.CreateAttachment(cookieHeader + "; X-OWA-CANARY=" + canary, canary, attachment);
        var uploadBody = await upload.Content!.ReadAsByteArrayAsync();
        var answer = await client.SendAndDrainAsync(upload);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains($"\"RequestBytes\":{uploadBody.Length}", await answer.Content.ReadAsStringAsync());
        Assert.Equal(uploadBody, emu.Requests[^1].Body);

        var noCanary = OwaShapes.CreateAttachment(cookieHeader, "", attachment);
        Assert.Equal((HttpStatusCode)449, (await client.SendAndDrainAsync(noCanary)).StatusCode);
    }

    [Fact]
    public async Task Autodiscover_answers_json_anonymously_and_pox_after_logon()
    {
        await using var emu = await ExchangeEmulator.StartAsync();
        using var client = new NtlmTestClient(emu.Address);
        var json = await client.GetAsync("/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS&RedirectCount=1");
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Contains("/EWS/Exchange.asmx", await json.Content.ReadAsStringAsync());
        var query = await client.GetAsync("/autodiscover/autodiscover.json?Email=jdoe%40contoso.com&Protocol=ActiveSync&RedirectCount=1");
        Assert.Contains("Microsoft-Server-ActiveSync", await query.Content.ReadAsStringAsync());

        Assert.Equal("jdoe", NtlmTestClient.UserOf(await client.LoginAsync("jdoe", emu.Options.Users["jdoe"], "/Autodiscover/Autodiscover.xml")));
        var pox = new HttpRequestMessage(HttpMethod.Post, "/Autodiscover/Autodiscover.xml") { Content = new StringContent(AutodiscoverShapes.PoxRequest("jdoe@contoso.com"), Encoding.UTF8, "text/xml") };
        var answer = await client.SendAndDrainAsync(pox);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("<AutoDiscoverSMTPAddress>jdoe@contoso.com</AutoDiscoverSMTPAddress>", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tls_listener_uses_the_generated_certificate()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { Https = true, RequireAuthentication = false });
        Assert.NotNull(emu.HttpsAddress);
        string? seen = null;
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => { seen = cert?.GetCertHashString(); return true; };
        using var http = new HttpClient(handler) { BaseAddress = emu.HttpsAddress };
        var r = await http.GetAsync("/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=ActiveSync");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(emu.Certificate!.GetCertHashString(), seen);
        Assert.Equal("https", emu.Requests.Single().Scheme);
    }

    [Fact]
    public async Task Oab_download_is_the_deterministic_file()
    {
        await using var emu = await ExchangeEmulator.StartAsync(new EmulatorOptions { RequireAuthentication = false, OabFileSize = 100_000 });
        using var client = new NtlmTestClient(emu.Address);
        var xml = await client.GetAsync("/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/oab.xml");
        Assert.Equal(HttpStatusCode.OK, xml.StatusCode);
        var file = await client.GetAsync("/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/a0c9b1d2-e3f4-5678-9abc-def012345678-data-112.lzx");
        Assert.Equal(ExchangeEmulator.OabFile(100_000), await file.Content.ReadAsByteArrayAsync());
    }
}
