using System.CommandLine;
using Exir.Cli;
using Exir.Cli.Commands;

// exir VERB [options] PATH. Each verb lives in Commands/<Verb>Command.cs and registers itself here.
Exir.Pipeline.StartupTrace.Mark("main");
var root = new RootCommand(
    "exir: incident response for on-premises Microsoft Exchange (ProxyLogon, ProxyShell, ProxyNotShell, OWASSRF).\n" +
    "Every verb: exir VERB [options] PATH...; results on stdout, progress and diagnostics on stderr.\n" +
    "Exit codes: 0 nothing found, 1 findings (matches, open vulnerabilities, damage), 2 could not run.");
root.Subcommands.Add(ScanCommand.Create());
root.Subcommands.Add(YaraCommand.Create());
root.Subcommands.Add(RulesCommand.Create());
root.Subcommands.Add(InventoryCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(EvtxCommand.Create());
root.Subcommands.Add(BaselineCommand.Create());
root.Subcommands.Add(QuarantineCommand.Create());
root.Subcommands.Add(TimelineCommand.Create());
root.Subcommands.Add(CaseCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
root.Subcommands.Add(MitigateCommand.Create());
root.Subcommands.Add(ProxyCommand.Create());
root.Subcommands.Add(HuntCommand.Create());

Exir.Pipeline.StartupTrace.Mark("verbs built");
var exit = CliRunner.Run(root, args);
Exir.Pipeline.StartupTrace.Mark("done");
return exit;
