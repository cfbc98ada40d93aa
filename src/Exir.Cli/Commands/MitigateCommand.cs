using System.CommandLine;
using System.Text;
using System.Text.Json;
using Exir.Core;
using Exir.Mitigation;

namespace Exir.Cli.Commands;

/// <summary>exir mitigate --emit TARGET | --verify PATH...: containment rules as ready configuration, and the offline check of IIS configs.</summary>
public static class MitigateCommand
{
    public const string ExitCodeText = "0 configuration written, or every mitigation present and effective; 1 a mitigation missing or ineffective; 2 could not run (no readable config, bad rules, unknown target)";

    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Description = "With --verify: web.config / applicationHost.config files, or folders searched for them", Arity = ArgumentArity.ZeroOrMore };
        var emit = new Option<string?>("--emit") { Description = "Write the mitigation configuration for: iis, nginx, haproxy, powershell (an IIS script with -WhatIf and -Rollback)" };
        var verify = new Option<bool>("--verify") { Description = "Check collected IIS config files offline: which mitigations are present, missing or ineffective" };
        var output = CommonOptions.Out("With --emit: write to this file instead of stdout");
        var format = new Option<string>("--format", "-f") { Description = "With --verify: table or json", DefaultValueFactory = _ => "table" };
        var rules = CommonOptions.Rules();
        var cmd = new Command("mitigate", VerbHelp.Of(
            "Containment until the Security Update is installed (a stop-gap, not a patch): --emit writes the rule set as IIS URL Rewrite rules " +
            "(web.config and applicationHost.config globalRules, Microsoft's EOMT rule names), an nginx or HAProxy configuration, or a PowerShell " +
            "script that applies and rolls back the IIS rules; --verify reads web.config/applicationHost.config files and runs the rules it finds " +
            "against the rule set's attack requests.",
            ExitCodeText,
            "exir mitigate --emit iis --out exir-mitigations.xml"))
        {
            paths, emit, verify, output, format, rules,
        };
        cmd.SetAction(parse => Run(parse.GetValue(emit), parse.GetValue(verify), parse.GetValue(paths) ?? [], parse.GetValue(output),
            parse.GetValue(format) ?? "table", parse.GetValue(rules), Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(string? emit, bool verify, string[] paths, string? outFile, string format, string? rulesDirectory, TextWriter stdout, TextWriter stderr)
    {
        if ((emit is null) == !verify) throw new UsageException("give either --emit iis|nginx|haproxy|powershell or --verify PATH...");
        var set = MitigationRuleSet.Load(rulesDirectory);
        if (emit is not null)
        {
            if (paths.Length > 0) throw new UsageException("--emit takes no PATH (use --out FILE to write a file)");
            var target = Emitters.Parse(emit) ?? throw new UsageException($"unknown --emit '{emit}' (use iis, nginx, haproxy or powershell)");
            var text = Emitters.Emit(target, set);
            if (outFile is null) { stdout.Write(text); return ExitCodes.Clean; }
            var full = Path.GetFullPath(outFile);
            // A script for Windows PowerShell 5.1 needs the BOM to read non-ASCII text right.
            File.WriteAllText(full, text, new UTF8Encoding(target == EmitTarget.PowerShell));
            stderr.WriteLine($"exir: wrote {TextSafety.ForTerminal(full)} ({set.Rules.Count} rules, rule set {set.Version})");
            return ExitCodes.Clean;
        }
        var f = format.Trim().ToLowerInvariant();
        if (f is not ("table" or "json")) throw new UsageException($"unknown --format '{format}' (use table or json)");
        if (paths.Length == 0) throw new UsageException("--verify needs at least one PATH (web.config, applicationHost.config or a folder)");
        var result = ConfigVerifier.Verify(paths, set);
        foreach (var u in result.Unreadable) stderr.WriteLine($"exir: {TextSafety.ForTerminal(u)}");
        if (result.FilesRead.Count == 0)
        {
            stderr.WriteLine("exir: no readable web.config or applicationHost.config");
            return ExitCodes.Error;
        }
        if (f == "json") WriteJson(result, set, stdout); else WriteTable(result, stdout);
        stderr.WriteLine($"exir: {result.FilesRead.Count} config file(s), {result.Rules.Count} URL Rewrite rule(s); " +
                         $"{result.Verdicts.Count(v => v.Status == MitigationStatus.Present)} of {result.Verdicts.Count} mitigations present and effective");
        return result.ExitCode;
    }

    private static void WriteTable(VerifyResult result, TextWriter w)
    {
        w.WriteLine($"{"STATUS",-12} {"MITIGATION",-38} RULE / WHY");
        foreach (var v in result.Verdicts)
        {
            var where = v.Found is null ? "" : $"'{v.Found.Name}' in {v.Found.File} ({v.Found.Scope})";
            w.WriteLine(TextSafety.ForTerminal($"{v.Status.ToString().ToLowerInvariant(),-12} {v.Rule.Id,-38} {where}"));
            foreach (var why in v.Reasons) w.WriteLine(TextSafety.ForTerminal($"{"",-12} {"",-38} - {why}"));
        }
    }

    private static void WriteJson(VerifyResult result, MitigationRuleSet set, TextWriter w)
    {
        var doc = new
        {
            rule_set = set.Version,
            files = result.FilesRead,
            unreadable = result.Unreadable,
            mitigations = result.Verdicts.Select(v => new
            {
                id = v.Rule.Id,
                title = v.Rule.Title,
                cves = v.Rule.Cves,
                status = v.Status.ToString().ToLowerInvariant(),
                rule = v.Found?.Name,
                file = v.Found?.File,
                scope = v.Found?.Scope,
                reasons = v.Reasons,
            }),
        };
        w.WriteLine(JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
