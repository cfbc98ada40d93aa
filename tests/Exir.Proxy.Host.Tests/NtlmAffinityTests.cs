using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Exir.Proxy.Host.Tests.Corpora;
using Exir.Proxy.Host.Tests.Emulator;

namespace Exir.Proxy.Host.Tests;

/// <summary>
/// NTLM authenticates a connection, not a request: through the proxy each client connection must have its own
/// upstream connection, so one user's logon never answers another's request. Also the failed-logon lockout.
/// </summary>
public sealed class NtlmAffinityTests
{
    private static readonly string[] Paths = ["/EWS/Exchange.asmx", "/mapi/emsmdb/", "/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/oab.xml", "/Autodiscover/Autodiscover.xml", "/Microsoft-Server-ActiveSync"];

    private static Task<ProxyHarness> Start(int users, int failedAuthLimit = 1_000_000)
    {
        var options = new EmulatorOptions();
        options.AddNumberedUsers(users);
        return ProxyHarness.StartAsync(options, o => o with { Policy = o.Policy with { FailedAuthLimit = failedAuthLimit, FailedAuthWindow = TimeSpan.FromMinutes(5) } });
    }

    [Fact]
    public async Task Thirty_two_clients_logging_on_at_once_each_stay_themselves()
    {
        const int n = 32;
        await using var h = await Start(n);
        var users = Enumerable.Range(1, n).Select(i => $"user{i:00}").ToArray();
        var clients = users.Select(_ => h.Client()).ToArray();
        var strangers = Enumerable.Range(0, 4).Select(_ => h.Client()).ToArray();
        try
        {
            // Every leg of every handshake in flight together, so upstream connections would mix if they were shared.
            var challenges = await Task.WhenAll(clients.Select(c => c.NegotiateAsync()));
            Assert.All(challenges, c => Assert.NotNull(c.Challenge));
            var logons = await Task.WhenAll(clients.Select((c, i) => c.AuthenticateAsync(users[i], EmulatorOptions.PasswordOf(users[i]), challenges[i].Challenge!)));
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(HttpStatusCode.OK, logons[i].StatusCode);
                Assert.Equal(users[i], NtlmTestClient.UserOf(logons[i]));
            }

            for (var round = 0; round < 5; round++)
            {
                var work = clients.Select((c, i) => (Task<(string Expected, HttpResponseMessage Response)>)Later(c, users[i], Paths[(i + round) % Paths.Length]))
                    .Concat(strangers.Select(s => Later(s, "", Paths[round % Paths.Length])));
                foreach (var (expected, response) in await Task.WhenAll(work))
                {
                    if (expected.Length == 0)
                    {
                        // Never logged on: never anyone's identity.
                        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                        Assert.True(string.IsNullOrEmpty(NtlmTestClient.UserOf(response)), NtlmTestClient.UserOf(response));
                        foreach (var leak in ExchangeEmulator.LeakingHeaders) Assert.False(response.Headers.Contains(leak), leak);
                    }
                    else
                    {
                        Assert.Equal(expected, NtlmTestClient.UserOf(response));
                        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
                    }
                }
            }
        }
        finally
        {
            foreach (var c in clients.Concat(strangers)) c.Dispose();
        }

        // At Exchange: each user on exactly one connection of its own, no connection serving two users.
        var byUser = h.Emulator.Requests.Where(r => r.User is not null).GroupBy(r => r.User!).ToList();
        Assert.Equal(n, byUser.Count);
        foreach (var g in byUser) Assert.Single(g.Select(r => r.ConnectionId).Distinct());
        Assert.Equal(n, byUser.Select(g => g.First().ConnectionId).Distinct().Count());
        Assert.All(h.Emulator.Requests.Where(r => r.User is null), r => Assert.Equal(401, r.Status));

        static async Task<(string, HttpResponseMessage)> Later(NtlmTestClient c, string expected, string path) => (expected, await c.GetAsync(path));
    }

    [Fact]
    public async Task Concurrent_long_polls_each_answer_their_own_user_and_none_waits_for_another()
    {
        const int n = 32;
        var options = new EmulatorOptions { MapiPendingInterval = TimeSpan.FromMilliseconds(250), MapiPendingCount = 4 };
        options.AddNumberedUsers(n);
        await using var h = await ProxyHarness.StartAsync(options);
        var users = Enumerable.Range(1, n).Select(i => $"user{i:00}").ToArray();
        var clients = users.Select(_ => h.Client()).ToArray();
        try
        {
            // Outlook's scheme is Negotiate (with an NTLM token inside): half the clients log on that way.
            var logons = await Task.WhenAll(clients.Select(async (c, i) =>
            {
                var scheme = i % 2 == 0 ? "Negotiate" : "NTLM";
                var (_, challenge) = await c.NegotiateAsync("/mapi/emsmdb/", scheme);
                return await c.AuthenticateAsync(users[i], EmulatorOptions.PasswordOf(users[i]), challenge!, "/mapi/emsmdb/", scheme);
            }));
            for (var i = 0; i < n; i++) Assert.Equal(users[i], NtlmTestClient.UserOf(logons[i]));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var polls = await Task.WhenAll(clients.Select(async (c, i) =>
            {
                var body = Encoding.ASCII.GetBytes($"execute for {users[i]}");
                using var m = new HttpRequestMessage(HttpMethod.Post, $"/mapi/emsmdb/?MailboxId={users[i]}@contoso.com") { Content = new ByteArrayContent(body) };
                m.Content.Headers.ContentType = new MediaTypeHeaderValue("application/mapi-http");
                m.Headers.Add("X-RequestType", "Execute");
                using var r = await c.Http.SendAsync(m, HttpCompletionOption.ResponseHeadersRead);
                var lines = await MapiStream.ReadMetaLinesAsync(await r.Content.ReadAsStreamAsync(), clock);
                return (User: NtlmTestClient.UserOf(r), Payload: lines[^1].Payload, Body: body);
            }));
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(users[i], polls[i].User);
                Assert.Equal(ExchangeEmulator.MapiPayload("Execute", polls[i].Body), polls[i].Payload);
            }
            // 32 polls of 1 s each side by side, not one after another (generous: 32 s in a row).
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
        }
        finally { foreach (var c in clients) c.Dispose(); }
    }

    [Fact]
    public async Task A_type3_sent_on_another_client_connection_is_refused()
    {
        await using var h = await Start(2);
        using var a = h.Client();
        using var b = h.Client();
        var (_, challenge) = await a.NegotiateAsync();
        Assert.NotNull(challenge);
        var stolen = await b.AuthenticateAsync("user01", EmulatorOptions.PasswordOf("user01"), challenge!);
        Assert.Equal(HttpStatusCode.Unauthorized, stolen.StatusCode);
        Assert.Equal("ntlm-no-challenge-on-connection", h.Emulator.Requests[^1].AuthNote);
        var own = await a.AuthenticateAsync("user01", EmulatorOptions.PasswordOf("user01"), challenge!);
        Assert.Equal("user01", NtlmTestClient.UserOf(own));
        Assert.Equal(HttpStatusCode.Unauthorized, (await b.GetAsync("/EWS/Exchange.asmx")).StatusCode);
    }

    [Fact]
    public async Task A_new_client_connection_after_a_logged_on_one_closed_starts_anonymous()
    {
        await using var h = await Start(1);
        string firstConnection;
        using (var a = h.Client())
        {
            var ok = await a.LoginAsync("user01", EmulatorOptions.PasswordOf("user01"));
            Assert.Equal("user01", NtlmTestClient.UserOf(ok));
            firstConnection = ok.Headers.GetValues(ExchangeEmulator.ConnectionHeader).Single();
        }
        // The proxy closes the upstream with the client connection; give it a moment, then a new client is nobody.
        for (var i = 0; i < 10; i++)
        {
            using var next = h.Client();
            var r = await next.GetAsync("/EWS/Exchange.asmx");
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.NotEqual(firstConnection, r.Headers.GetValues(ExchangeEmulator.ConnectionHeader).Single());
        }
    }

    [Fact]
    public async Task Password_spraying_is_locked_out_and_challenge_legs_do_not_count()
    {
        await using var h = await Start(1, failedAuthLimit: 4);
        // Ten good NTLM logons: ten 401 challenge legs, none a failure.
        for (var i = 0; i < 10; i++)
        {
            using var c = h.Client();
            Assert.Equal("user01", NtlmTestClient.UserOf(await c.LoginAsync("user01", EmulatorOptions.PasswordOf("user01"))));
        }

        // Wrong passwords (Basic on ActiveSync, NTLM, OWA forms) until the proxy stops passing them on.
        using var client = h.Client();
        var statuses = new List<int>();
        for (var i = 0; i < 9; i++)
        {
            HttpResponseMessage r;
            if (i % 3 == 0)
            {
                var m = new HttpRequestMessage(HttpMethod.Post, "/Microsoft-Server-ActiveSync?Cmd=Sync&User=user01&DeviceId=SPRAY0001&DeviceType=iPhone") { Content = new ByteArrayContent(Wbxml.SyncRequest("1", "5")) };
                m.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"user01:Guess{i}!")));
                r = await client.SendAndDrainAsync(m);
            }
            else if (i % 3 == 1) r = await client.LoginAsync("user01", $"Guess{i}!");
            else r = await client.SendAndDrainAsync(OwaShapes.LogonPost("contoso\\user01", $"Guess{i}!"));
            statuses.Add((int)r.StatusCode);
        }
        Assert.Contains(429, statuses);
        var firstLock = statuses.IndexOf(429);
        Assert.True(firstLock >= 4, string.Join(",", statuses)); // the limit's failures went through first
        Assert.All(statuses.Skip(firstLock), s => Assert.Equal(429, s));
        // Exchange saw only the failures before the lockout.
        Assert.Equal(firstLock, h.Emulator.FailedLogins("user01"));
        // The right password is locked out too for now (from this address): that is the point of a lockout.
        using var late = h.Client();
        Assert.Equal((HttpStatusCode)429, (await late.GetAsync("/EWS/Exchange.asmx")).StatusCode);
    }
}
