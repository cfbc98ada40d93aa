using Exir.Core;

namespace Exir.Timeline;

/// <summary>
/// The timeline's data files (rules/timeline): how events and log lines become rows, which process trees
/// are watched, the tamper checks and the scope texts. Loaded once per run; a broken file stops the run
/// with the file named, since the timeline cannot be built without it.
/// </summary>
public sealed class TimelineRules
{
    public required EventMapping Events { get; init; }
    public required LogMapping Logs { get; init; }
    public required ProcessTreeRules Trees { get; init; }
    public required TamperRules Tamper { get; init; }
    public required ScopeTexts Scope { get; init; }

    public static TimelineRules Load(DataFiles data) => new()
    {
        Events = Read("timeline/events.yaml", () => EventMapping.Load(data)),
        Logs = Read("timeline/weblogs.yaml", () => LogMapping.Load(data)),
        Trees = Read("timeline/process-trees.yaml", () => ProcessTreeRules.Load(data)),
        Tamper = Read("timeline/tamper.yaml", () => TamperRules.Load(data)),
        Scope = Read("timeline/scope.yaml", () => ScopeTexts.Load(data)),
    };

    private static T Read<T>(string file, Func<T> load)
    {
        try { return load(); }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or FormatException or FileNotFoundException)
        {
            throw new InvalidDataException($"rules/{file}: {e.Message}");
        }
    }
}
