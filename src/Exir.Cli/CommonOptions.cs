using System.CommandLine;
using Exir.Core;
using Exir.Reporting.Outputs;

namespace Exir.Cli;

/// <summary>
/// The options every verb spells the same way. Each verb takes the ones it needs from here, so --format,
/// --out, --since, --until, --host, --threads, --rules, --knowledge and --no-progress mean one thing everywhere.
/// </summary>
public static class CommonOptions
{
    public static Option<string> Format(Verb verb) => new("--format", "-f")
    {
        Description = "What to print on stdout: " + string.Join(", ", SinkRegistry.FormatNames(verb)),
        DefaultValueFactory = _ => "table",
    };

    public static Option<string?> Out(string what) => new("--out", "-o") { Description = what };

    public static Option<string?> Since() => new("--since") { Description = "Only what happened at or after this UTC time (2021-03-02 or 2021-03-02T10:00:00Z)" };

    public static Option<string?> Until() => new("--until") { Description = "Only what happened at or before this UTC time (a bare date includes that whole day)" };

    public static Option<int> Threads() => new("--threads", "-p")
    {
        Description = "Worker threads (all cores unless given)",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public static Option<string?> Rules() => new("--rules") { Description = "Use the detection data in this folder instead of the built-in rules/" };

    public static Option<string?> Knowledge() => new("--knowledge") { Description = "Use the build tables in this folder instead of the built-in knowledge/" };

    /// <summary>--case TARGET: also write the run into a case (a SQLite file, usually exir-case.db, or a postgresql:// URL).</summary>
    public static Option<string?> Case() => new("--case")
    {
        Description = "Also write the results into this case: a file (SQLite, created when absent) or postgresql://user@host:port/db; " +
                      "--case alone: exir-case.db inside --out, else in the current folder",
        Arity = ArgumentArity.ZeroOrOne,
    };

    /// <summary>
    /// The case --case names: null without the option; a bare --case is exir-case.db inside --out (the run's own folder)
    /// or in the current folder.
    /// </summary>
    public static string? CaseTarget(ParseResult parse, Option<string?> option, string? outDirectory)
    {
        if (parse.GetResult(option) is not { Implicit: false }) return null;
        if (parse.GetValue(option) is { Length: > 0 } target)
        {
            // "--case PATH" with the evidence folder after a bare --case: say so instead of treating the folder as the case.
            if (Directory.Exists(target))
                throw new UsageException($"--case {target} is a folder: give the case file (e.g. --case exir-case.db), or write a bare --case after the evidence PATH");
            return target;
        }
        return outDirectory is not null ? Path.Combine(outDirectory, Exir.Case.Store.CaseStores.DefaultFileName) : Exir.Case.Store.CaseStores.DefaultFileName;
    }

    public static Option<bool> NoProgress() => new("--no-progress") { Description = "No progress display on stderr" };

    /// <summary>The window of --since/--until, checked (exit 2 on a bad time or an empty window).</summary>
    public static (DateTimeOffset? Since, DateTimeOffset? Until) Window(ParseResult parse, Option<string?> since, Option<string?> until)
    {
        DateTimeOffset? s, u;
        try
        {
            s = UtcTime.Parse(parse.GetValue(since), "--since");
            u = UtcTime.Parse(parse.GetValue(until), "--until", upperBound: true);
        }
        catch (FormatException e) { throw new UsageException(e.Message); }
        if (s > u) throw new UsageException("--since is after --until");
        return (s, u);
    }

    /// <summary>--threads within 1..256.</summary>
    public static int ThreadCount(ParseResult parse, Option<int> threads) => Math.Clamp(parse.GetValue(threads), 1, 256);

    /// <summary>The --format value, checked against the verb's sinks.</summary>
    public static string FormatOf(ParseResult parse, Option<string> format, Verb verb)
    {
        var f = (parse.GetValue(format) ?? "table").Trim().ToLowerInvariant();
        if (SinkRegistry.ForStdout(verb, f) is null)
            throw new UsageException($"unknown --format '{f}' (use {string.Join(", ", SinkRegistry.FormatNames(verb))})");
        return f;
    }

    public static string CommandLine(ParseResult parse) => "exir " + string.Join(' ', parse.Tokens.Select(t => t.Value));
}
