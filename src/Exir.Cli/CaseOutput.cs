using Exir.Case;
using Exir.Case.Store;
using Exir.Engine;
using Exir.Reporting.Outputs;

namespace Exir.Cli;

/// <summary>
/// --case TARGET of scan, timeline, inventory, check and quarantine: the case is opened before the run (a bad
/// target or a case newer than this exir stops it before any evidence is read), written as one more output,
/// and a failure to write it turns the exit code into 2 after every other output was written.
/// </summary>
public sealed class CaseOutput : IDisposable
{
    private readonly ICaseStore _store;
    private CaseSink? _sink;

    private CaseOutput(ICaseStore store) => _store = store;

    public ICaseStore Store => _store;

    /// <summary>Opens the case of --case, or null without it; <see cref="CaseStoreException"/> (exit 2) when it cannot be opened.</summary>
    /// <param name="outDirectory">The run's --out: a case inside it (a bare --case) may create it; any other missing folder is a typo.</param>
    public static CaseOutput? Open(string? target, IEnumerable<string>? evidenceRoots = null, string? outDirectory = null)
    {
        if (string.IsNullOrWhiteSpace(target)) return null;
        if (!CaseStores.IsPostgresUrl(target))
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(target))!;
            // A case file is written to: never inside the evidence (compared by resolved paths, like --out).
            if (evidenceRoots is not null) Exir.Core.Evidence.OutputFolder.EnsureOutside(folder, evidenceRoots, "--case");
            if (outDirectory is not null && folder == Path.GetFullPath(outDirectory).TrimEnd(Path.DirectorySeparatorChar)) Directory.CreateDirectory(folder);
        }
        return new CaseOutput(CaseStores.Open(target));
    }

    /// <summary>Adds the case to the run's outputs; <paramref name="rowsScanId"/> is the run the timeline rows belong to.</summary>
    public void AddTo(OutputSession outputs, string verb, string commandLine, string? rowsScanId = null, string? knowledge = null)
    {
        _sink = new CaseSink(_store, new CaseRunInfo(verb, commandLine, ExirVersion.Tool, knowledge), rowsScanId);
        outputs.Add(_sink);
    }

    /// <summary>The verb's exit code, or 2 with the reason when the case could not be written.</summary>
    public int Finish(int exitCode)
    {
        if (_sink?.Error is { } error)
        {
            Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(error));
            return ExitCodes.Error;
        }
        if (_sink?.Summary is { } summary) Console.Error.WriteLine("exir: " + Exir.Core.TextSafety.ForTerminal(summary));
        return exitCode;
    }

    public void Dispose() => _store.Dispose();
}
