using System.CommandLine;

namespace Exir.Cli.Commands;

public static class ScanCommand
{
    public static Command Create()
    {
        var path = new Argument<string?>("PATH") { Description = "Evidence: a mounted drive, an Exchange folder, a triage collection or a .zip", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("scan", "Hunt for signs of compromise over an Exchange server or a collection of its evidence") { path };
        cmd.SetAction(parse => 0);
        return cmd;
    }
}
