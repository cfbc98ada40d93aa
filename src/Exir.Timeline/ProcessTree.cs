using System.Globalization;
using System.Text;
using Exir.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Timeline;

/// <summary>A record that logged a process start: its file, record id and channel.</summary>
public sealed record ProcessRecord(string File, long? RecordId, string Source)
{
    public override string ToString() => RecordId is { } r ? $"{File} #{r.ToString(CultureInfo.InvariantCulture)} ({Source})" : $"{File} ({Source})";
}

/// <summary>One process seen starting (4688 or Sysmon 1, or both merged), or a parent inferred from its children.</summary>
public sealed class ProcessNode
{
    public required string Host { get; init; }
    public DateTime Start { get; init; }
    public required string Image { get; init; }
    public string? CommandLine { get; internal set; }
    public string? User { get; internal set; }
    public long? Pid { get; init; }
    public long? ParentPid { get; internal set; }
    public string? Guid { get; init; }
    public string? ParentGuid { get; init; }
    public string? ParentImage { get; internal set; }
    public string? ParentCommandLine { get; internal set; }
    public string File { get; init; } = "";
    public long? RecordId { get; init; }
    public string Source { get; init; } = "";
    // Most nodes have no twin, no child and few tags: the lists are made when first needed, not per node
    // (a million starts would otherwise carry three million empty lists).
    private List<ProcessRecord>? _alsoLoggedAs;
    private List<string>? _tags;
    private List<ProcessNode>? _children;

    /// <summary>The same start logged by another source (Security 4688 beside Sysmon 1), merged into this node.</summary>
    public IReadOnlyList<ProcessRecord> AlsoLoggedAs => (IReadOnlyList<ProcessRecord>?)_alsoLoggedAs ?? [];
    /// <summary>No start event was seen; the node was made from a child's parent fields.</summary>
    public bool Inferred { get; init; }
    public IReadOnlyList<string> Tags => (IReadOnlyList<string>?)_tags ?? [];
    public ProcessNode? Parent { get; internal set; }
    public IReadOnlyList<ProcessNode> Children => (IReadOnlyList<ProcessNode>?)_children ?? [];

    public string Name => ImageName(Image);

    internal static string ImageName(string image)
    {
        var i = image.LastIndexOfAny(['\\', '/']);
        return (i < 0 ? image : image[(i + 1)..]).Trim('"', ' ');
    }

    internal void Tag(string t)
    {
        _tags ??= new List<string>(1);
        if (!_tags.Contains(t)) _tags.Add(t);
    }

    internal void AddChild(ProcessNode child) => (_children ??= []).Add(child);

    /// <summary>Takes in the other record of the same start: its evidence, tags and the fields this record lacks.</summary>
    internal void Absorb(ProcessNode twin)
    {
        (_alsoLoggedAs ??= new List<ProcessRecord>(1)).Add(new ProcessRecord(twin.File, twin.RecordId, twin.Source));
        foreach (var t in twin.Tags) Tag(t);
        if (string.IsNullOrWhiteSpace(CommandLine)) CommandLine = twin.CommandLine;
        if (string.IsNullOrWhiteSpace(User)) User = twin.User;
        ParentPid ??= twin.ParentPid;
        ParentImage ??= twin.ParentImage;
        ParentCommandLine ??= twin.ParentCommandLine;
    }
}

/// <summary>The watched parents and the tags that make a process worth showing (rules/timeline/process-trees.yaml).</summary>
public sealed class ProcessTreeRules
{
    public sealed record Watch(string Image, string Tag, string Title, IReadOnlySet<string> BenignChildren);
    public IReadOnlyList<Watch> Watched { get; init; } = [];
    public IReadOnlySet<string> ShowTags { get; init; } = new HashSet<string>();
    /// <summary>Two starts of one pid and image by different sources this close in time are one process; zero turns merging off.</summary>
    public TimeSpan MergeWindow { get; init; }

    public static ProcessTreeRules Load(DataFiles rules) => Parse(rules.ReadAllText("timeline/process-trees.yaml"));

    public static ProcessTreeRules Parse(string yaml)
    {
        var doc = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties().Build().Deserialize<Doc>(yaml) ?? new Doc();
        return new ProcessTreeRules
        {
            Watched = (doc.Watch ?? []).Where(w => !string.IsNullOrWhiteSpace(w.Image)).Select(w => new Watch(w.Image!, w.Tag ?? "watched-tree", w.Title ?? w.Image!,
                (w.BenignChildren ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase))).ToList(),
            ShowTags = (doc.ShowTags ?? []).ToHashSet(StringComparer.Ordinal),
            MergeWindow = TimeSpan.FromSeconds(Math.Max(0, doc.MergeWindowSeconds ?? 0)),
        };
    }

    private sealed class Doc { public List<WatchDoc>? Watch { get; set; } public List<string>? ShowTags { get; set; } public double? MergeWindowSeconds { get; set; } }
    private sealed class WatchDoc { public string? Image { get; set; } public string? Tag { get; set; } public string? Title { get; set; } public List<string>? BenignChildren { get; set; } }
}

/// <summary>
/// Collects process starts from timeline rows and links them into trees. Sysmon links by process GUID;
/// 4688 by process id, taking the latest process with that id that started before the child (ids are reused).
/// Thread-safe for <see cref="Add"/>; <see cref="Build"/> runs once at the end.
/// </summary>
public sealed class ProcessTreeBuilder
{
    /// <summary>Bound on kept process starts; beyond it starts are counted but not linked.</summary>
    public int MaxNodes { get; init; } = 1_000_000;
    private readonly List<ProcessNode> _nodes = [];
    private readonly object _gate = new();
    public long Dropped { get; private set; }

    // Host, image, user, file, source and parent GUID repeat across starts; one copy each keeps a million nodes small.
    private readonly StringPool _strings = new();

    public void Add(TimelineEvent e)
    {
        if (e.Category != "process" || e.Process is null) return;
        var source = e.EventId is { } id ? $"{e.Source} {id.ToString(CultureInfo.InvariantCulture)}" : e.Source;
        lock (_gate)
        {
            if (_nodes.Count >= MaxNodes) { Dropped++; return; }
            var node = new ProcessNode
            {
                Host = Pool(e.Host), Start = e.Timestamp, Image = Pool(e.Process), CommandLine = Pool(e.CommandLine), User = Pool(e.User),
                Pid = ParseId(e.Field("process_id")), ParentPid = ParseId(e.Field("parent_process_id")),
                Guid = NullIfEmpty(e.Field("process_guid")), ParentGuid = Pool(NullIfEmpty(e.Field("parent_process_guid"))),
                ParentImage = Pool(e.ParentProcess), ParentCommandLine = Pool(e.Field("evt_ParentCommandLine")),
                File = Pool(e.File), RecordId = e.RecordId, Source = Pool(source),
            };
            foreach (var t in e.Tags) node.Tag(t);
            _nodes.Add(node);
        }
    }

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(s))]
    private string? Pool(string? s) => _strings.Get(s);

    public ProcessForest Build(ProcessTreeRules rules)
    {
        var nodes = MergeTwins(_nodes.OrderBy(n => n.Start).ThenBy(n => n.RecordId).ToList(), rules.MergeWindow);
        var byGuid = new Dictionary<(string, string), ProcessNode>();
        var byPid = new Dictionary<(string, long), ProcessNode>();
        var inferred = new Dictionary<string, ProcessNode>(StringComparer.Ordinal);
        var all = new List<ProcessNode>(nodes.Count);
        foreach (var n in nodes)
            if (n.Guid is not null) byGuid.TryAdd((n.Host, n.Guid.ToUpperInvariant()), n);
        foreach (var n in nodes)
        {
            all.Add(n);
            ProcessNode? parent = null;
            if (n.ParentGuid is not null)
                byGuid.TryGetValue((n.Host, n.ParentGuid.ToUpperInvariant()), out parent);
            if (parent is null && n.Guid is null && n.ParentPid is { } ppid && byPid.TryGetValue((n.Host, ppid), out var p) && p.Start <= n.Start)
                parent = p;
            if (parent is null && (n.ParentImage is not null || n.ParentPid is not null))
            {
                var key = $"{n.Host}\u0001{n.ParentGuid?.ToUpperInvariant() ?? "pid:" + n.ParentPid}\u0001{n.ParentImage}";
                if (!inferred.TryGetValue(key, out parent))
                {
                    parent = new ProcessNode
                    {
                        Host = n.Host, Start = n.Start, Image = n.ParentImage ?? $"(process {n.ParentPid})", Pid = n.ParentPid,
                        Guid = n.ParentGuid, CommandLine = n.ParentCommandLine, File = n.File, Inferred = true,
                    };
                    inferred[key] = parent;
                    all.Add(parent);
                }
            }
            if (parent is not null && !ReferenceEquals(parent, n)) { n.Parent = parent; parent.AddChild(n); }
            if (n.Pid is { } pid) byPid[(n.Host, pid)] = n;
        }
        return new ProcessForest(all, rules, Dropped);
    }

    /// <summary>
    /// A host that logs both Security 4688 and Sysmon 1 records every start twice. Starts of the same host, pid and
    /// image within the window, from different sources (never two Sysmon starts: their GUIDs say they differ),
    /// whose command lines and parent pids agree where both have one, are one process: the node with the GUID
    /// stays and keeps the other's record as evidence.
    /// </summary>
    private static List<ProcessNode> MergeTwins(List<ProcessNode> nodes, TimeSpan window)
    {
        if (window <= TimeSpan.Zero) return nodes;
        var recent = new Dictionary<(string Host, long Pid), List<ProcessNode>>();
        var absorbed = new HashSet<ProcessNode>(ReferenceEqualityComparer.Instance);
        foreach (var n in nodes)
        {
            if (n.Pid is not { } pid) continue;
            var key = (n.Host.ToUpperInvariant(), pid);
            if (!recent.TryGetValue(key, out var seen)) recent[key] = seen = [];
            seen.RemoveAll(o => n.Start - o.Start > window || absorbed.Contains(o));
            if (seen.FirstOrDefault(o => AreTwins(o, n)) is { } twin)
            {
                var (keep, drop) = twin.Guid is null && n.Guid is not null ? (n, twin) : (twin, n);
                keep.Absorb(drop);
                absorbed.Add(drop);
                if (ReferenceEquals(keep, n)) seen.Add(n);
                continue;
            }
            seen.Add(n);
        }
        return absorbed.Count == 0 ? nodes : nodes.Where(n => !absorbed.Contains(n)).ToList();
    }

    private static bool AreTwins(ProcessNode a, ProcessNode b) =>
        !(a.Guid is not null && b.Guid is not null)
        && !(a.File == b.File && a.RecordId == b.RecordId)
        && a.AlsoLoggedAs.Count == 0 && b.AlsoLoggedAs.Count == 0
        && SameImage(a.Image, b.Image)
        && Agree(a.CommandLine, b.CommandLine, (x, y) => Collapse(x).Equals(Collapse(y), StringComparison.OrdinalIgnoreCase))
        && (a.ParentPid is null || b.ParentPid is null || a.ParentPid == b.ParentPid);

    /// <summary>Full paths must match; a bare name (some sources log only that) matches the path's file name.</summary>
    private static bool SameImage(string a, string b) =>
        a.Trim('"', ' ').Equals(b.Trim('"', ' '), StringComparison.OrdinalIgnoreCase)
        || ((a.IndexOfAny(['\\', '/']) < 0 || b.IndexOfAny(['\\', '/']) < 0) && ProcessNode.ImageName(a).Equals(ProcessNode.ImageName(b), StringComparison.OrdinalIgnoreCase));

    private static bool Agree(string? a, string? b, Func<string, string, bool> same) =>
        string.IsNullOrWhiteSpace(a) || string.IsNullOrWhiteSpace(b) || same(a, b);

    private static string Collapse(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    internal static long? ParseId(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        s = s.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return long.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var h) ? h : null;
        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

/// <summary>The linked processes, the trees worth showing, and which rows belong to a watched tree.</summary>
public sealed class ProcessForest
{
    public const int MaxChildrenShown = 200;
    public const int MaxDepth = 40;

    public IReadOnlyList<ProcessNode> Nodes { get; }
    /// <summary>Roots of the trees to show: watched parents with unusual children, and ancestors of highlighted processes.</summary>
    public IReadOnlyList<ProcessNode> Roots { get; }
    public long DroppedStarts { get; }
    /// <summary>Starts merged into the record of another source of the same start.</summary>
    public int MergedStarts => _mergedInto.Count;
    private readonly HashSet<ProcessNode> _shown = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<(string File, long Record), IReadOnlyList<string>> _rowTags = new();
    private readonly Dictionary<(string File, long Record), ProcessNode> _mergedInto = new(), _byRecord = new();

    internal ProcessForest(List<ProcessNode> nodes, ProcessTreeRules rules, long dropped)
    {
        Nodes = nodes;
        DroppedStarts = dropped;
        var roots = new List<ProcessNode>();
        var rootSet = new HashSet<ProcessNode>(ReferenceEqualityComparer.Instance);
        foreach (var w in rules.Watched)
        {
            foreach (var n in nodes)
            {
                if (!n.Name.Equals(w.Image, StringComparison.OrdinalIgnoreCase)) continue;
                if (!n.Children.Any(c => !w.BenignChildren.Contains(c.Name))) continue;
                n.Tag(w.Tag + "-root");
                foreach (var d in Descendants(n)) { d.Tag(w.Tag); _shown.Add(d); }
                for (var p = (ProcessNode?)n; p is not null; p = p.Parent) _shown.Add(p);
                var top = Top(n);
                if (rootSet.Add(top)) roots.Add(top);
            }
        }
        foreach (var n in nodes)
        {
            if (!n.Tags.Any(rules.ShowTags.Contains)) continue;
            _shown.Add(n);
            for (var p = n.Parent; p is not null; p = p.Parent) _shown.Add(p);
            var top = Top(n);
            if (rootSet.Add(top)) roots.Add(top);
        }
        roots.Sort((a, b) => a.Start.CompareTo(b.Start));
        Roots = roots;
        foreach (var n in nodes)
        {
            if (n.Inferred) continue;
            if (n.RecordId is { } own && n.AlsoLoggedAs.Count > 0) _byRecord[(n.File, own)] = n;
            if (n.RecordId is { } r && n.Tags.Count > 0) _rowTags[(n.File, r)] = n.Tags;
            foreach (var twin in n.AlsoLoggedAs)
                if (twin.RecordId is { } tr) _mergedInto[(twin.File, tr)] = n;
        }
    }

    /// <summary>The process a row's start was merged into when another source logged the same start, or null.</summary>
    public ProcessNode? MergedInto(TimelineEvent e) =>
        e.RecordId is { } r && e.Category == "process" && _mergedInto.TryGetValue((e.File, r), out var n) ? n : null;

    /// <summary>The node a process row stands for (its own record), to name the other records of the same start.</summary>
    public IReadOnlyList<ProcessRecord> AlsoLoggedAs(TimelineEvent e) =>
        e.RecordId is { } r && e.Category == "process" && _byRecord.TryGetValue((e.File, r), out var n) ? n.AlsoLoggedAs : [];

    /// <summary>Tags the process tree gives a timeline row (e.g. "webshell-tree"), or none.</summary>
    public IReadOnlyList<string> TagsFor(TimelineEvent e) =>
        e.RecordId is { } r && e.Category == "process" && _rowTags.TryGetValue((e.File, r), out var t) ? t : [];

    /// <summary>Processes below a watched parent (w3wp.exe, UMWorkerProcess.exe...), the web shell's tree.</summary>
    public IEnumerable<ProcessNode> InWatchedTrees(string tag) => Nodes.Where(n => n.Tags.Contains(tag));

    public bool IsShown(ProcessNode n) => _shown.Contains(n);

    public static IEnumerable<ProcessNode> Descendants(ProcessNode n)
    {
        var stack = new Stack<(ProcessNode, int)>();
        foreach (var c in n.Children) stack.Push((c, 1));
        while (stack.Count > 0)
        {
            var (x, depth) = stack.Pop();
            yield return x;
            if (depth < MaxDepth) foreach (var c in x.Children) stack.Push((c, depth + 1));
        }
    }

    private static ProcessNode Top(ProcessNode n)
    {
        var top = n;
        for (int i = 0; i < MaxDepth && top.Parent is not null; i++) top = top.Parent;
        return top;
    }

    /// <summary>The shown trees as indented text, one process per line.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        foreach (var root in Roots)
        {
            Render(root, 0, sb);
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private void Render(ProcessNode n, int depth, StringBuilder sb)
    {
        sb.Append(' ', depth * 2).Append(depth == 0 ? "" : "└ ").Append(Line(n)).AppendLine();
        if (depth >= MaxDepth) return;
        int shown = 0;
        foreach (var c in n.Children)
        {
            if (!IsShown(c)) continue;
            if (++shown > MaxChildrenShown) { sb.Append(' ', (depth + 1) * 2).AppendLine($"… {n.Children.Count - MaxChildrenShown} more"); break; }
            Render(c, depth + 1, sb);
        }
    }

    public static string Line(ProcessNode n)
    {
        var sb = new StringBuilder();
        sb.Append(n.Inferred ? "(start not logged)" : n.Start.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        sb.Append(' ').Append(n.Host).Append(' ').Append(n.Name);
        if (n.Pid is { } pid) sb.Append(" pid ").Append(pid.ToString(CultureInfo.InvariantCulture));
        if (n.User is not null) sb.Append(" user ").Append(n.User);
        if (n.CommandLine is not null) sb.Append(": ").Append(n.CommandLine.Length > 400 ? n.CommandLine[..400] + "…" : n.CommandLine);
        if (n.Tags.Count > 0) sb.Append(" [").Append(string.Join(", ", n.Tags)).Append(']');
        if (n.RecordId is { } r && !n.Inferred)
        {
            sb.Append(" (").Append(n.File).Append(" #").Append(r.ToString(CultureInfo.InvariantCulture));
            foreach (var twin in n.AlsoLoggedAs) sb.Append("; also ").Append(twin);
            sb.Append(')');
        }
        return sb.ToString().Replace('\n', ' ').Replace('\r', ' ');
    }
}
