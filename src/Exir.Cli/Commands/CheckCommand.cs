using System.CommandLine;
using Exir.Knowledge.Remote;

namespace Exir.Cli.Commands;

/// <summary>exir check: remote, non-destructive fingerprint and safe probes of Exchange hosts over HTTP(S).</summary>
public static class CheckCommand
{
    public static Command Create()
    {
        var urls = new Argument<string[]>("URL")
        {
            Description = "Hosts or URLs, e.g. https://mail.example.com or mail.example.com (https is assumed)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var hosts = new Option<string?>("--hosts") { Description = "File of hosts (CSV with a host/server/url column, or one per line), checked concurrently" };
        var noProbes = new Option<bool>("--no-probes") { Description = "Fingerprint the build only; send no vulnerability probe" };
        var common = new CommonOptions();
        var cmd = new Command("check",
            "Remote, non-destructive check of Exchange servers: fingerprints the build (X-OWA-Version header and the exporttool manifest give the " +
            "exact build, the OWA logon page path the CU), judges it against the knowledge base, and runs safe GET probes: the CVE-2021-26855 " +
            "cookie probe, the ProxyShell autodiscover probe, and whether the ProxyNotShell URL Rewrite mitigation answers. Every probe prints a " +
            "verdict. No exploit payload is ever sent and nothing is changed on the server.\n" +
            "Scan only systems you are authorised to test.\n" +
            "Exit codes: 0 all patched, 1 any open CVE, unsupported version or vulnerable probe, 2 could not check (unreachable, not Exchange, version hidden).")
        {
            urls, hosts, noProbes,
        };
        common.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var format = common.Format(parse);
            var kb = common.LoadKnowledge(parse);
            var list = new List<string>(parse.GetValue(urls) ?? []);
            if (parse.GetValue(hosts) is { } file) list.AddRange(InventoryCommand.ReadHosts(file));
            if (list.Count == 0) throw new UsageException("give at least one host or URL, or --hosts FILE");
            var results = common.RunFleet(parse, kb, list, runProbes: !parse.GetValue(noProbes));
            switch (format)
            {
                case "json": Console.Out.Write(CheckReportWriter.Json(results)); break;
                case "csv": Console.Out.Write(CheckReportWriter.Csv(results)); break;
                default:
                    Console.Out.WriteLine($"knowledge: {kb.Version} ({kb.Origin})");
                    Console.Out.WriteLine();
                    Console.Out.Write(CheckReportWriter.Text(results));
                    if (results.Count > 1) InventoryCommand.Summary(results.Select(CheckReportWriter.ToAssessment).ToList());
                    break;
            }
            if (format != "table") Console.Error.WriteLine($"exir: knowledge {kb.Version} ({kb.Origin})");
            return RemoteCheckResult.ExitCodeFor(results);
        });
        return cmd;
    }
}
