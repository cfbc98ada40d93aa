using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Exir.Mitigation.Tests;

/// <summary>The reference engines the emitted configuration is checked with; a test skips with the reason when one is absent.</summary>
internal static class Tools
{
    public static string Require(string name, string why)
    {
        var home = Environment.GetEnvironmentVariable("HOME") ?? "";
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Concat(["/usr/sbin", "/usr/local/sbin", "/sbin", Path.Combine(home, ".dotnet", "tools")])
            .Select(d => Path.Combine(d, name));
        var found = candidates.FirstOrDefault(File.Exists);
        if (found is null) Assert.Skip($"{name} is not installed here ({why}; Debian: apt-get install {name})");
        return found;
    }

    public static (int Exit, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException($"{file} did not finish"); }
        return (p.ExitCode, output + err.Result);
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Sends the request line exactly as given (no client normalises the URI) and returns the status code.</summary>
    public static int Status(int port, string uri, string cookie)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                using var stream = client.GetStream();
                stream.ReadTimeout = 5000;
                var request = $"GET {uri} HTTP/1.1\r\nHost: mail.contoso.com\r\n" + (cookie.Length > 0 ? $"Cookie: {cookie}\r\n" : "") + "Connection: close\r\n\r\n";
                stream.Write(Encoding.ASCII.GetBytes(request));
                var line = new StreamReader(stream, Encoding.ASCII).ReadLine() ?? "";
                return int.Parse(line.Split(' ')[1]);
            }
            catch (SocketException) when (attempt < 50) { Thread.Sleep(100); } // the server is still starting
        }
    }
}
