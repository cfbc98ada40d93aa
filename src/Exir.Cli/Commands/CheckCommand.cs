using System.CommandLine;
using Exir.Knowledge.Remote;
using Exir.Reporting.Outputs;

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
        var remote = new RemoteOptions(Verb.Check);
        var cmd = new Command("check", VerbHelp.Of(
            "Remote, non-destructive check of Exchange servers: fingerprints the build (X-OWA-Version header and the exporttool manifest give the " +
            "exact build, the OWA logon page path the CU), judges it against the knowledge base, and runs safe GET probes: the CVE-2021-26855 " +
            "cookie probe, the ProxyShell autodiscover probe, and whether the ProxyNotShell URL Rewrite mitigation answers. Every probe prints a " +
            "verdict. No exploit payload is ever sent and nothing is changed on the server. Scan only systems you are authorised to test.",
            "0 all patched, 1 any open CVE, unsupported version or vulnerable probe, 2 could not check (unreachable, not Exchange, version hidden)",
            "exir check https://mail.example.com"))
        {
            urls, hosts, noProbes,
        };
        remote.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var format = CommonOptions.FormatOf(parse, remote.Format, Verb.Check);
            using var caseOutput = CaseOutput.Open(CommonOptions.CaseTarget(parse, remote.Case, parse.GetValue(remote.Out)), null, parse.GetValue(remote.Out));
            var kb = remote.LoadKnowledge(parse);
            var list = new List<string>(parse.GetValue(urls) ?? []);
            if (parse.GetValue(hosts) is { } file) list.AddRange(InventoryCommand.ReadHosts(file));
            if (list.Count == 0) throw new UsageException("give at least one host or URL, or --hosts FILE");
            var results = remote.RunFleet(parse, kb, list, runProbes: !parse.GetValue(noProbes));
            return remote.Write(parse, Verb.Check, format, new RunOutput { Verb = Verb.Check, Checks = results, Knowledge = $"{kb.Version} ({kb.Origin})" },
                RemoteCheckResult.ExitCodeFor(results), caseOutput);
        });
        return cmd;
    }
}
