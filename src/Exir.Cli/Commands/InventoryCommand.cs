using System.CommandLine;
using System.Globalization;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Knowledge;
using Exir.Knowledge.Assessment;
using Exir.Knowledge.Builds;
using Exir.Knowledge.Remote;
using Exir.Reporting.Outputs;

namespace Exir.Cli.Commands;

/// <summary>exir inventory: patch status and recommended action from a build number, a collection, or a fleet of hosts.</summary>
public static class InventoryCommand
{
    public static Command Create()
    {
        var targets = new Argument<string[]>("TARGET")
        {
            Description = "Build numbers as pasted (15.1.2176.2, 15.01.2176.002, \"Version 15.1 (Build 2176.2)\", 15.1.2176 for CU level), " +
                          "or paths to a collection, mounted drive or .zip (the build is read from ExSetup.exe, OWA version folders or log headers)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var hosts = new Option<string?>("--hosts") { Description = "File of hosts (CSV with a host/server/url column, or one per line): fingerprint each over HTTP(S), concurrently" };
        var remote = new RemoteOptions(Verb.Inventory);
        var cmd = new Command("inventory", VerbHelp.Of(
            "Patch status of Exchange servers: product, CU, SU, support status, open exploited CVEs with the fixing update, " +
            "and the action to take (patch, shutdown-migrate, none). With --hosts: scan only systems you are authorised to test.",
            "0 all patched, 1 any open CVE or unsupported version, 2 could not assess",
            "exir inventory 15.1.2176.2"))
        {
            targets, hosts,
        };
        remote.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var format = CommonOptions.FormatOf(parse, remote.Format, Verb.Inventory);
            using var caseOutput = CaseOutput.Open(CommonOptions.CaseTarget(parse, remote.Case, parse.GetValue(remote.Out)), null, parse.GetValue(remote.Out));
            var kb = remote.LoadKnowledge(parse);
            var asOf = remote.AsOf(parse);
            var list = new List<BuildAssessment>();
            foreach (var t in JoinPastedVersions(parse.GetValue(targets) ?? []))
                list.Add(AssessTarget(kb, t, asOf));
            if (parse.GetValue(hosts) is { } hostFile)
            {
                var results = remote.RunFleet(parse, kb, ReadHosts(hostFile), runProbes: false);
                list.AddRange(results.Select(CheckReportWriter.ToAssessment));
            }
            if (list.Count == 0) throw new UsageException("give at least one build number, path, or --hosts FILE");
            return remote.Write(parse, Verb.Inventory, format, new RunOutput { Verb = Verb.Inventory, Assessments = list, Knowledge = $"{kb.Version} ({kb.Origin})" },
                BuildAssessment.ExitCodeFor(list), caseOutput);
        });
        return cmd;
    }

    internal static IReadOnlyList<string> ReadHosts(string file)
    {
        if (!File.Exists(file)) throw new UsageException($"--hosts file not found: {file}");
        using var reader = File.OpenText(file);
        var hosts = FleetRunner.ReadHostList(reader);
        if (hosts.Count == 0) throw new UsageException($"no hosts in {file}");
        return hosts;
    }

    private static BuildAssessment AssessTarget(ExchangeKnowledge kb, string target, DateOnly asOf)
    {
        if (ExchangeBuild.TryParse(target, out var build)) return kb.Assess(build, "argument", target, asOf);
        if (Directory.Exists(target) || File.Exists(target))
        {
            try
            {
                using var source = EvidenceSource.Open(target);
                var coverage = new CoverageReport();
                var a = kb.AssessCollection(source, coverage, asOf);
                return coverage.Issues.Count == 0 ? a
                    : a with { Notes = [.. a.Notes, $"{coverage.Issues.Count} file(s) could not be read or parsed: " + string.Join("; ", coverage.Issues.Take(3).Select(i => $"{i.Path}: {i.Message}"))] };
            }
            catch (EvidenceException e)
            {
                return new BuildAssessment { Target = target, Source = "collection", Error = e.Message, KnowledgeVersion = kb.Version };
            }
        }
        return new BuildAssessment { Target = target, Source = "argument", KnowledgeVersion = kb.Version, Error = $"'{target}' is neither an Exchange build number nor an existing path" };
    }

    /// <summary>An unquoted "Version 15.1 (Build 2176.2)" arrives as four words: put it back together.</summary>
    internal static IEnumerable<string> JoinPastedVersions(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Equals("Version", StringComparison.OrdinalIgnoreCase) && i + 3 < args.Length)
            {
                var joined = string.Join(' ', args[i..(i + 4)]);
                if (ExchangeBuild.TryParse(joined, out _)) { yield return joined; i += 3; continue; }
            }
            yield return args[i];
        }
    }
}

/// <summary>Options of inventory and check: output, knowledge, date, and the limits of remote requests.</summary>
internal sealed class RemoteOptions(Verb verb)
{
    public readonly Option<string> Format = CommonOptions.Format(verb);
    public readonly Option<string?> Out = CommonOptions.Out("Write " + string.Join(", ", SinkRegistry.ForFolder(verb).Select(d => d.FileName)) + " into this folder");
    public readonly Option<string?> Knowledge = CommonOptions.Knowledge();
    public readonly Option<string?> AsOfOption = new("--as-of") { Description = "Judge support status on this date (YYYY-MM-DD; today unless given)" };
    public readonly Option<bool> Insecure = new("--insecure") { Description = "Accept untrusted TLS certificates (self-signed lab servers); prints a warning" };
    public readonly Option<double> Timeout = new("--timeout") { Description = "Seconds per HTTP request, body included", DefaultValueFactory = _ => 10 };
    public readonly Option<int> MaxRedirects = new("--max-redirects") { Description = "Redirects followed per request (within the origin given: same scheme, host and port)", DefaultValueFactory = _ => 5 };
    public readonly Option<int> MaxBodyKb = new("--max-body-kb") { Description = "Response bytes read per request, in KiB", DefaultValueFactory = _ => 512 };
    public readonly Option<int> Concurrency = new("--concurrency") { Description = "Hosts checked at once", DefaultValueFactory = _ => 8 };
    public readonly Option<string?> Case = CommonOptions.Case();

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Format, Out, Knowledge, AsOfOption, Insecure, Timeout, MaxRedirects, MaxBodyKb, Concurrency, Case })
            cmd.Options.Add(o);
    }

    public ExchangeKnowledge LoadKnowledge(ParseResult parse)
    {
        if (parse.GetValue(Knowledge) is { } k && !Directory.Exists(k)) throw new UsageException($"--knowledge folder not found: {k}");
        var kb = ExchangeKnowledge.Load(parse.GetValue(Knowledge));
        foreach (var p in kb.Problems.Take(20)) Console.Error.WriteLine(Exir.Core.TextSafety.ForTerminal($"exir: knowledge: {p}"));
        return kb;
    }

    public DateOnly AsOf(ParseResult parse) => parse.GetValue(AsOfOption) is { } s
        ? DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : throw new UsageException($"--as-of: '{s}' is not YYYY-MM-DD")
        : DateOnly.FromDateTime(DateTime.UtcNow);

    public RemoteCheckOptions Remote(ParseResult parse)
    {
        var seconds = parse.GetValue(Timeout);
        if (seconds is <= 0 or > 600) throw new UsageException("--timeout: give 0 < seconds <= 600");
        var insecure = parse.GetValue(Insecure);
        if (insecure) Console.Error.WriteLine("exir: WARNING: --insecure: TLS certificates are not verified; an impostor could answer in the server's place.");
        return new RemoteCheckOptions
        {
            Timeout = TimeSpan.FromSeconds(seconds), Insecure = insecure, AsOf = AsOf(parse),
            MaxRedirects = Math.Clamp(parse.GetValue(MaxRedirects), 0, 20),
            MaxBodyBytes = Math.Clamp(parse.GetValue(MaxBodyKb), 4, 64 * 1024) * 1024,
        };
    }

    public IReadOnlyList<RemoteCheckResult> RunFleet(ParseResult parse, ExchangeKnowledge kb, IReadOnlyList<string> hosts, bool runProbes)
    {
        using var checker = new RemoteChecker(kb, Remote(parse));
        return FleetRunner.RunAsync(checker, hosts, Math.Clamp(parse.GetValue(Concurrency), 1, 64), runProbes).GetAwaiter().GetResult();
    }

    /// <summary>Prints the --format sink and writes the --out files; the knowledge version goes to stderr when stdout is for machines.</summary>
    /// <returns>The exit code: <paramref name="exitCode"/>, or 2 when the case of --case could not be written.</returns>
    public int Write(ParseResult parse, Verb verb, string format, RunOutput output, int exitCode, CaseOutput? caseOutput)
    {
        using (var outputs = OutputSession.Open(verb, format, Console.OpenStandardOutput(), parse.GetValue(Out), withTimeline: false, m => Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(m))))
        {
            caseOutput?.AddTo(outputs, verb.ToString().ToLowerInvariant(), CommonOptions.CommandLine(parse), knowledge: output.Knowledge);
            outputs.Complete(output);
        }
        if (format != "table") Console.Error.WriteLine($"exir: knowledge {output.Knowledge}");
        return caseOutput?.Finish(exitCode) ?? exitCode;
    }
}
