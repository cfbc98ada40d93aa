using System.CommandLine;
using Exir.Core.Evidence;

namespace Exir.Cli;

/// <summary>Exit codes of every verb: 0 nothing found, 1 findings (matches, open CVEs, damage), 2 could not run.</summary>
public static class ExitCodes
{
    public const int Clean = 0;
    public const int Findings = 1;
    public const int Error = 2;
}

public static class CliRunner
{
    /// <summary>
    /// Parses and runs. Response files are off: a file named "@x" that a shell glob hands over must stay a path,
    /// never become options. Usage errors and failures to run exit 2 with a one-line reason on stderr.
    /// </summary>
    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"exir: {Exir.Core.TextSafety.ForTerminal(error.Message)}");
            Console.Error.WriteLine("Try 'exir --help' or 'exir VERB --help'.");
            return ExitCodes.Error;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"exir: {Exir.Core.TextSafety.ForTerminal(e.Message)}");
            return ExitCodes.Error;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EvidenceException or InvalidDataException or FormatException
                                      or ArgumentException or Exir.Detection.Rules.RuleDataException)
        {
            Console.Error.WriteLine($"exir: {Exir.Core.TextSafety.ForTerminal(e.Message)}");
            return ExitCodes.Error;
        }
    }
}

/// <summary>A bad argument discovered after parsing (e.g. an unknown format name): exit 2 with this message.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The help text of a verb: what it does, its exit codes and one example, in the same layout for every verb.</summary>
public static class VerbHelp
{
    public static string Of(string what, string exitCodes, string example) =>
        $"{what}\n\nExit codes: {exitCodes}\n\nExample:\n  {example}";
}
