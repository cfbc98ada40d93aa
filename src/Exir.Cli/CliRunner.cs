using System.CommandLine;

namespace Exir.Cli;

/// <summary>Exit codes of every verb: the field's convention, so scripts can branch on them.</summary>
public static class ExitCodes
{
    public const int Clean = 0;
    public const int Findings = 1;
    public const int Error = 2;
}

public static class CliRunner
{
    /// <summary>Parses and runs; usage errors and unexpected failures both exit 2 with a one-line reason on stderr.</summary>
    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"exir: {error.Message}");
            Console.Error.WriteLine("Try 'exir --help' or 'exir VERB --help'.");
            return ExitCodes.Error;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"exir: {e.Message}");
            return ExitCodes.Error;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Exir.Core.Evidence.EvidenceException or InvalidDataException or FormatException or Exir.Detection.Rules.RuleDataException)
        {
            Console.Error.WriteLine($"exir: {e.Message}");
            return ExitCodes.Error;
        }
    }
}

/// <summary>A bad argument discovered after parsing (e.g. an unknown format name): exit 2 with this message.</summary>
public sealed class UsageException(string message) : Exception(message);
