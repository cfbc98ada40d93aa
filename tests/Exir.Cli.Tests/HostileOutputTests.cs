using System.Net;
using System.Net.Sockets;
using System.Text;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>
/// File names and server answers are the intruder's text. Whatever they hold (ESC sequences that clear the
/// screen or set the clipboard, BEL, C1 controls, line breaks), the console lines of `check`, `yara`, `scan` and
/// `quarantine` carry none of it raw: it is shown as \x1b-style escapes and a name stays on its line.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class HostileOutputTests
{
    // Clear the screen, set the clipboard (OSC 52), ring, and start a new line: in a file name.
    private const string HostileName = "x\u001b[2J\u001b]52;c;aGk=\u0007\nEvil.aspx";
    private const string HostileShown = @"x\x1b[2J\x1b]52;c;aGk=\x07\nEvil.aspx";
    private const string Shell = "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"p\"],\"unsafe\");%>";

    /// <summary>What no console line may carry: C0 controls but line feed (and tab where it separates columns), DEL, C1 controls.</summary>
    private static void AssertNoRawControls(string output, bool tabSeparated = false)
    {
        for (int i = 0; i < output.Length; i++)
        {
            char c = output[i];
            bool ok = c == '\n' || (tabSeparated && c == '\t') || (c == '\r' && i + 1 < output.Length && output[i + 1] == '\n') || !(c < ' ' || c is >= '\u007f' and <= '\u009f');
            Assert.True(ok, $"raw U+{(int)c:X4} at {i}: {output}");
        }
    }

    [Fact]
    public void YaraPrintsAHostileFileNameOnOneLineWithEscapesShown()
    {
        var dir = TestPaths.NewTempDir();
        var rules = Path.Combine(dir, "r.yar");
        File.WriteAllText(rules, "rule Evil_Eval { strings: $a = \"eval(Request\" condition: $a }");
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, HostileName), Shell);

        var r = ExirProcess.Run("yara", "-r", rules, tree);
        Assert.Equal(1, r.ExitCode);
        AssertNoRawControls(r.Stdout + r.Stderr);
        var line = Assert.Single(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"Evil_Eval {tree}/{HostileShown}", line);
    }

    [Fact]
    public void EvtxAndUsageErrorsShowAHostileFileNameEscaped()
    {
        var dir = TestPaths.NewTempDir();
        var junk = Path.Combine(dir, HostileName + ".evtx");
        File.WriteAllBytes(junk, new byte[4096]);   // not EVTX: its name comes back in the error line

        var evtx = ExirProcess.Run("evtx", junk);
        Assert.Equal(2, evtx.ExitCode);
        AssertNoRawControls(evtx.Stdout + evtx.Stderr);
        Assert.Contains(HostileShown, evtx.Stderr);

        var missing = ExirProcess.Run("scan", Path.Combine(dir, "gone", HostileName), "--no-progress");
        Assert.Equal(2, missing.ExitCode);
        AssertNoRawControls(missing.Stdout + missing.Stderr);
    }

    [Fact]
    public void ScanConsoleKeepsAHostileFileNameOnItsLine()
    {
        var root = TestPaths.NewTempDir();
        var folder = Path.Combine(root, "inetpub", "wwwroot", "aspnet_client");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, HostileName), Shell);

        var r = ExirProcess.Run("scan", root, "--no-progress");
        Assert.Equal(1, r.ExitCode);
        AssertNoRawControls(r.Stdout + r.Stderr);
        var lines = r.Stdout.Split('\n');
        // The box holds: every line drawn inside a frame ends with its frame.
        foreach (var l in lines.Where(l => l.StartsWith('│')))
            Assert.True(l.TrimEnd().EndsWith('│'), l);
        // The name's line break did not start a line of its own in the incident story (it did: "│ Evil.aspx   │").
        Assert.DoesNotContain(lines, l => l.Trim('│', ' ', '\r').StartsWith("Evil.aspx", StringComparison.Ordinal));
        // The panel's story shows the whole name, escapes visible, once its wrapped lines are joined.
        var panel = string.Concat(lines.Where(l => l.StartsWith('│') && l.Count(c => c == '│') == 2).Select(l => l.Trim('│', '\r').Trim()));
        Assert.Contains("aspnet_client/" + HostileShown, panel);
    }

    [Fact]
    public void QuarantineLinesKeepTheirColumnsWhateverTheNameHolds()
    {
        var dir = TestPaths.NewTempDir();
        var name = "shell\t\u001b[8mhidden\u001b[0m\r\n.aspx";
        var file = Path.Combine(dir, name);
        File.WriteAllText(file, Shell);
        var store = Path.Combine(dir, "store");

        var dry = ExirProcess.Run("quarantine", file, "--store", store);
        AssertNoRawControls(dry.Stdout + dry.Stderr);
        Assert.Equal($"would quarantine {dir}/shell\\t\\x1b[8mhidden\\x1b[0m\\r\\n.aspx", Assert.Single(dry.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        var live = ExirProcess.Run("quarantine", file, "--store", store, "--live");
        Assert.Equal(1, live.ExitCode);
        AssertNoRawControls(live.Stdout + live.Stderr, tabSeparated: true);
        Assert.Equal(4, Assert.Single(live.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split('\t').Length);

        var list = ExirProcess.Run("quarantine", "list", "--store", store);
        Assert.Equal(0, list.ExitCode);
        AssertNoRawControls(list.Stdout + list.Stderr, tabSeparated: true);
        var rows = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, rows.Length);
        Assert.All(rows, row => Assert.Equal(8, row.Split('\t').Length));
        Assert.EndsWith(@"shell\t\x1b[8mhidden\x1b[0m\r\n.aspx", rows[1].Split('\t')[6]);
    }

    [Fact]
    public async Task CheckShowsHostileServerHeadersAsEscapes()
    {
        // Kestrel refuses to send control characters in headers; a hostile server does not.
        const string headers =
            "X-OWA-Version: 15.1.2176.2\u001b[2J\u001b]52;c;aGk=\u0007\r\n" +
            "X-FEServer: EXCH\u001b]0;pwned\u0007\r\n" +
            "Server: Microsoft-IIS/10.0\u001b[31m\r\n" +
            "X-CalculatedBETarget: localhost\u001b[2J\u0007\r\n";
        const string body = "<html><link href=\"/owa/auth/15.1.2176/themes/resources/a.css\"><form action=\"/owa/auth.owa\">logon</form></html>";
        await using var server = RawHttpServer.Start(_ => "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + headers +
            $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n" + body);
        var url = $"http://127.0.0.1:{server.Port}";

        // Two targets, so the summary table is printed too.
        var table = ExirProcess.Run("check", url, url + "/owa/", "--as-of", "2021-03-03");
        Assert.Equal(1, table.ExitCode);
        AssertNoRawControls(table.Stdout + table.Stderr);
        Assert.Contains(@"X-OWA-Version header: 15.1.2176.2\x1b[2J\x1b]52;c;aGk=\x07", table.Stdout);
        Assert.Contains(@"X-CalculatedBETarget: localhost\x1b[2J\x07", table.Stdout);
        Assert.Contains("SERVER", table.Stdout);

        foreach (var format in new[] { "csv", "json", "jsonl" })
        {
            var r = ExirProcess.Run("check", url, "--as-of", "2021-03-03", "--format", format);
            Assert.Equal(1, r.ExitCode);
            AssertNoRawControls(r.Stdout + r.Stderr);
        }
    }

    /// <summary>
    /// A minimal HTTP/1.1 server on 127.0.0.1 that writes whatever bytes it is given (one response per
    /// connection), as a hostile server would.
    /// </summary>
    private sealed class RawHttpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private RawHttpServer(Func<string, string> respond)
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                    catch (Exception) { return; }
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            var stream = client.GetStream();
                            var request = new StringBuilder();
                            var buffer = new byte[4096];
                            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                            {
                                int n = await stream.ReadAsync(buffer, _stop.Token);
                                if (n == 0) return;
                                request.Append(Encoding.Latin1.GetString(buffer, 0, n));
                            }
                            var path = request.ToString().Split(' ', 3)[1];
                            // Latin-1: each char one byte, as a server that writes raw bytes.
                            await stream.WriteAsync(Encoding.Latin1.GetBytes(respond(path)), _stop.Token);
                        }
                    });
                }
            });
        }

        public static RawHttpServer Start(Func<string, string> respond) => new(respond);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try { await _loop; } catch (OperationCanceledException) { }
            _stop.Dispose();
        }
    }
}
