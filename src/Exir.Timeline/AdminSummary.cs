using System.Globalization;
using Exir.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Exir.Timeline;

/// <summary>What one account did across all hosts given: logons by type, privileges, where from, changes made to it.</summary>
public sealed class AccountActivity
{
    public required string Account { get; init; }
    public SortedSet<string> Names { get; } = new(StringComparer.OrdinalIgnoreCase);
    public SortedDictionary<string, int> LogonsByType { get; } = new(StringComparer.Ordinal);
    /// <summary>Logons (any type) that were given special privileges (4672 with the same logon id).</summary>
    public SortedDictionary<string, int> PrivilegedLogonsByType { get; } = new(StringComparer.Ordinal);
    public int FailedLogons { get; internal set; }
    public int SpecialPrivileges { get; internal set; }
    public int ExplicitCredentialUses { get; internal set; }
    public SortedSet<string> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);
    public SortedSet<string> SourceIps { get; } = new(StringComparer.OrdinalIgnoreCase);
    public SortedSet<string> SourceHosts { get; } = new(StringComparer.OrdinalIgnoreCase);
    public SortedSet<string> Cmdlets { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Authenticated web requests (IIS, HttpProxy) of a privileged account, and where they came from.</summary>
    public long WebRequests { get; internal set; }
    public SortedSet<string> WebSourceIps { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Account changes and explicit credential uses, in log order; at most <see cref="MaxChanges"/>, then a line saying how many more.</summary>
    public List<string> Changes { get; } = [];
    /// <summary>Bound on the changes kept per account: a busy 4648 log would otherwise keep one string per event.</summary>
    public const int MaxChanges = 1_000;
    /// <summary>Changes seen beyond <see cref="MaxChanges"/>: counted, not kept.</summary>
    public long ChangesNotKept { get; private set; }
    private bool _notKeptStated;
    public DateTime? First { get; internal set; }
    public DateTime? Last { get; internal set; }
    /// <summary>Evidence pointer of the first event seen for the account.</summary>
    public string? FirstEvidence { get; internal set; }
    public bool Privileged => SpecialPrivileges > 0 || AddedToPrivilegedGroup;
    public bool AddedToPrivilegedGroup { get; internal set; }
    public bool Created { get; internal set; }
    public bool InWebShellTree { get; internal set; }
    public bool MachineAccount => Account.EndsWith('$');
    public int Logons => LogonsByType.Values.Sum();
    /// <summary>The account as the logs wrote it (DOMAIN\user), for statements.</summary>
    public string Display => Names.FirstOrDefault(n => n.Contains('\\')) ?? Names.FirstOrDefault() ?? Account;

    internal void Change(string text)
    {
        if (Changes.Count < MaxChanges) Changes.Add(text);
        else ChangesNotKept++;
    }

    /// <summary>The bound, when hit, is said where the changes are read.</summary>
    internal void StateChangesNotKept()
    {
        if (ChangesNotKept == 0 || _notKeptStated) return;
        _notKeptStated = true;
        Changes.Add($"… {ChangesNotKept.ToString("N0", CultureInfo.InvariantCulture)} more change(s) not kept (bound of {MaxChanges.ToString("N0", CultureInfo.InvariantCulture)} per account)");
    }

    internal void Seen(TimelineEvent e)
    {
        if (First is null || e.Timestamp < First) { First = e.Timestamp; FirstEvidence = $"{e.File} #{e.RecordId}"; }
        if (Last is null || e.Timestamp > Last) Last = e.Timestamp;
    }
}

/// <summary>A plain-words statement of what the evidence means for the scope of the compromise.</summary>
public sealed record ScopeStatement(string Id, string Text);

/// <summary>
/// Builds the administrator access summary from timeline rows (logons, privileges, account and group
/// changes, Exchange cmdlets) and, with the process trees, the scope statements. Thread-safe Add.
/// </summary>
public sealed class AdminSummaryBuilder
{
    /// <summary>Logon sessions remembered to pair 4624 with 4672; bounded so a huge Security log cannot exhaust memory.</summary>
    public int MaxSessions { get; init; } = 1_000_000;
    private static readonly HashSet<string> WellKnown = new(StringComparer.OrdinalIgnoreCase)
    {
        "SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON", "LOCAL SYSTEM", "-", "",
    };

    private readonly object _gate = new();
    private readonly Dictionary<string, AccountActivity> _accounts = new(StringComparer.OrdinalIgnoreCase);
    // Sessions are keyed by host and logon id: the id as a number when it is Windows' 0x-hex form, else as text.
    private readonly Dictionary<(string Host, long Id, string? Text), (string Account, string Type)> _sessions = new();
    private readonly HashSet<(string Host, long Id, string? Text)> _privilegedSessions = new();
    // Hosts and logon types of the session and credential tables: one copy each, not one per row.
    private readonly StringPool _strings = new();
    private readonly Dictionary<string, List<string>> _tagHosts = new(StringComparer.Ordinal);
    private readonly List<string> _groupChanges = [], _aclChangers = [];
    // Logons and explicit credentials with the requesting process: used from a web shell when that process is in its tree.
    private readonly List<(string Host, long Pid, DateTime Time, string Account)> _credentialUses = [];
    // Web use per user, kept apart (every mailbox user is in the IIS logs) and joined to the accounts that matter at the end.
    private readonly Dictionary<string, (long Count, SortedSet<string> Ips)> _web = new(StringComparer.OrdinalIgnoreCase);
    public int MaxWebUsers { get; init; } = 200_000;
    public int MaxCredentialUses { get; init; } = 200_000;
    // Records a bound turned away, so the result can say the summary is partial.
    private long _sessionsNotKept, _webUsersNotKept, _credentialUsesNotKept;
    private readonly SortedSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);
    // Merged scan findings: the hosts they name, and those that show a compromise (outcome success), earliest first.
    private readonly SortedSet<string> _findingHosts = new(StringComparer.OrdinalIgnoreCase), _compromisedHosts = new(StringComparer.OrdinalIgnoreCase);
    private int _findings, _successes;
    private TimelineEvent? _firstSuccess;
    private DateTime? _from, _to;
    private int _aclChanges, _logClears;

    public void Add(TimelineEvent e)
    {
        lock (_gate)
        {
            // The scope is what the logs cover: merged scan findings (some dated by a file's copy time) are not access records.
            if (e.Category == "finding") NoteFinding(e);
            else
            {
                if (!string.IsNullOrWhiteSpace(e.Host)) _hosts.Add(e.Host);
                if (_from is null || e.Timestamp < _from) _from = e.Timestamp;
                if (_to is null || e.Timestamp > _to) _to = e.Timestamp;
            }
            foreach (var t in e.Tags) NoteTag(t, e.Host);
            switch (e.EventId, e.Category)
            {
                case (4624, "logon"):
                {
                    var a = Account(e.User, e); if (a is null) break;
                    var type = e.Field("logon_type") ?? "?";
                    a.LogonsByType[type] = a.LogonsByType.GetValueOrDefault(type) + 1;
                    a.Hosts.Add(e.Host);
                    if (e.SrcIp is { } ip && ip != "::1" && ip != "127.0.0.1") a.SourceIps.Add(ip);
                    if (e.SrcHost is { } sh) a.SourceHosts.Add(sh);
                    if (e.Field("logon_id") is { } lid)
                    {
                        if (_sessions.Count < MaxSessions) _sessions[SessionKey(e.Host, lid)] = (a.Account, _strings.Get(type));
                        else _sessionsNotKept++;
                    }
                    NoteCredentialUse(e, a);
                    break;
                }
                case (4625, _):
                {
                    var a = Account(e.User, e); if (a is null) break;
                    a.FailedLogons++;
                    if (e.SrcIp is { } ip) a.SourceIps.Add(ip);
                    break;
                }
                case (4672, _):
                {
                    var a = Account(e.User, e); if (a is null) break;
                    a.SpecialPrivileges++;
                    a.Hosts.Add(e.Host);
                    if (e.Field("logon_id") is { } lid)
                    {
                        if (_privilegedSessions.Count < MaxSessions) _privilegedSessions.Add(SessionKey(e.Host, lid));
                        else _sessionsNotKept++;
                    }
                    break;
                }
                case (4648, _):
                {
                    var a = Account(e.Field("target_user"), e); if (a is null) break;
                    a.ExplicitCredentialUses++;
                    if (e.SrcIp is { } ip) a.SourceIps.Add(ip);
                    a.Change($"{Time(e)} credentials used explicitly by {e.User} from {e.Process} on {e.Host}");
                    NoteCredentialUse(e, a);
                    break;
                }
                case (4720 or 4722 or 4724, _):
                {
                    var a = Account(e.Field("target_user"), e, keepMachine: true); if (a is null) break;
                    if (e.EventId == 4720) a.Created = true;
                    a.Change($"{Time(e)} {e.TimestampDesc.ToLowerInvariant()} on {e.Host} by {e.User}");
                    break;
                }
                case (4728 or 4732 or 4756, _):
                {
                    var member = e.Field("target_user");
                    var a = Account(member, e, keepMachine: true);
                    var group = e.Field("group") ?? "?";
                    var privileged = e.Tags.Contains("privileged-group-add");
                    var text = $"{Time(e)} added to {group} on {e.Host} by {e.User}";
                    if (a is not null) { a.Change(text); if (privileged) a.AddedToPrivilegedGroup = true; }
                    if (privileged) _groupChanges.Add($"{member} to {group} by {e.User} at {Time(e)}");
                    break;
                }
                case (5136, _) when e.Tags.Contains("ad-acl-change"):
                    _aclChanges++;
                    if (e.User is { } u && !_aclChangers.Contains(u)) _aclChangers.Add(u);
                    break;
                case (_, "exchange-cmdlet"):
                {
                    var a = Account(e.User, e); if (a is null) break;
                    if (e.Field("cmdlet") is { } c) a.Cmdlets.Add(c);
                    a.Hosts.Add(e.Host);
                    break;
                }
                case (null, "web"):
                {
                    if (AccountKey(e.User, e.Host) is not { } key) break;
                    if (!_web.TryGetValue(key, out var w)) { if (_web.Count >= MaxWebUsers) { _webUsersNotKept++; break; } w = (0, new SortedSet<string>(StringComparer.OrdinalIgnoreCase)); }
                    if (e.SrcIp is { } ip && w.Ips.Count < 50) w.Ips.Add(ip);
                    _web[key] = (w.Count + 1, w.Ips);
                    break;
                }
                case (_, "log-tamper") when e.EventId is 1102 or 104:
                    _logClears++;
                    break;
            }
        }
    }

    private void NoteCredentialUse(TimelineEvent e, AccountActivity a)
    {
        if (ProcessTreeBuilder.ParseId(e.Field("process_id")) is not { } pid || pid <= 4) return;
        if (_credentialUses.Count < MaxCredentialUses) _credentialUses.Add((_strings.Get(e.Host), pid, e.Timestamp, a.Account));
        else _credentialUsesNotKept++;
    }

    /// <summary>The bounds of this summary that were hit, in words for the reader; empty on ordinary logs.</summary>
    public IEnumerable<string> BoundsHit()
    {
        lock (_gate)
        {
            var hit = new List<string>();
            if (_sessionsNotKept > 0)
                hit.Add($"{_sessionsNotKept:N0} logon session record(s) beyond the bound of {MaxSessions:N0} sessions were not paired (4624 with 4672): privileged logon counts may be low.");
            if (_credentialUsesNotKept > 0)
                hit.Add($"{_credentialUsesNotKept:N0} logon or explicit credential use(s) beyond the bound of {MaxCredentialUses:N0} were not checked against the web shell's process tree.");
            if (_webUsersNotKept > 0)
                hit.Add($"{_webUsersNotKept:N0} web request(s) of users beyond the bound of {MaxWebUsers:N0} users were not counted.");
            return hit;
        }
    }

    /// <summary>The same key as the lower-cased text would be, without keeping a string per session for the usual "0x3e7" form.</summary>
    private (string Host, long Id, string? Text) SessionKey(string host, string logonId)
    {
        Span<char> canonical = stackalloc char[18];
        if (ProcessTreeBuilder.ParseId(logonId) is { } id && id >= 0 && logonId.Length <= canonical.Length && logonId.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            "0x".CopyTo(canonical);
            if (((ulong)id).TryFormat(canonical[2..], out int n, "x", CultureInfo.InvariantCulture)
                && logonId.AsSpan().Equals(canonical[..(n + 2)], StringComparison.OrdinalIgnoreCase))
                return (_strings.Get(host), id, null);
        }
        return (_strings.Get(host), 0, logonId.ToLowerInvariant());
    }

    private void NoteTag(string tag, string host)
    {
        if (!_tagHosts.TryGetValue(tag, out var hosts)) _tagHosts[tag] = hosts = [];
        if (!hosts.Contains(host, StringComparer.OrdinalIgnoreCase)) hosts.Add(host);
    }

    private void NoteFinding(TimelineEvent e)
    {
        _findings++;
        if (!string.IsNullOrWhiteSpace(e.Host)) _findingHosts.Add(e.Host);
        if (e.Field("outcome") != "success") return;
        _successes++;
        if (!string.IsNullOrWhiteSpace(e.Host)) _compromisedHosts.Add(e.Host);
        // A file's modification time may be a copy time: an event-dated success is the better "first".
        bool fileTime = e.Tags.Contains(TimelineCollector.FileTimeTag);
        if (_firstSuccess is null || (_firstSuccess.Tags.Contains(TimelineCollector.FileTimeTag) && !fileTime)
            || (fileTime == _firstSuccess.Tags.Contains(TimelineCollector.FileTimeTag) && e.Timestamp < _firstSuccess.Timestamp))
            _firstSuccess = e;
    }

    private static string Time(TimelineEvent e) => e.Timestamp.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Account key: the bare account name, so DOMAIN\user, user@domain.fqdn and an Exchange caller path meet
    /// across hosts. A local account (its domain is the host's own name) keeps the host in its key, so the
    /// many local "Administrator" accounts of a network stay apart.
    /// </summary>
    public static string? AccountKey(string? user, string? host = null)
    {
        var bare = BareKey(user);
        if (bare is null || host is null || user is null) return bare;
        int slash = user.IndexOf('\\');
        if (slash <= 0) return bare;
        var domain = user[..slash].Trim();
        var shortHost = host.Split('.')[0];
        return domain.Equals(shortHost, StringComparison.OrdinalIgnoreCase) ? $"{shortHost.ToLowerInvariant()}\\{bare}" : bare;
    }

    private static string? BareKey(string? user)
    {
        if (string.IsNullOrWhiteSpace(user)) return null;
        var u = user.Trim();
        // Distinguished name (4728/4756 MemberName): the first RDN's value.
        if (u.StartsWith("CN=", StringComparison.OrdinalIgnoreCase))
        {
            int comma = u.IndexOf(',');
            while (comma > 0 && u[comma - 1] == '\\') comma = u.IndexOf(',', comma + 1);
            u = (comma < 0 ? u[3..] : u[3..comma]).Replace("\\", "");
        }
        int at = u.IndexOf('@');
        if (at > 0) u = u[..at];
        int cut = Math.Max(u.LastIndexOf('\\'), u.LastIndexOf('/'));
        if (cut >= 0) u = u[(cut + 1)..];
        u = u.Trim();
        if (WellKnown.Contains(u) || u.StartsWith("DWM-", StringComparison.OrdinalIgnoreCase) || u.StartsWith("UMFD-", StringComparison.OrdinalIgnoreCase)) return null;
        if (u.StartsWith("S-1-5-", StringComparison.OrdinalIgnoreCase) && u.Count(c => c == '-') <= 3) return null;
        return u.ToLowerInvariant();
    }

    private AccountActivity? Account(string? user, TimelineEvent e, bool keepMachine = true)
    {
        var key = AccountKey(user, e.Host);
        if (key is null) return null;
        if (!_accounts.TryGetValue(key, out var a)) _accounts[key] = a = new AccountActivity { Account = key };
        a.Names.Add(user!.Trim());
        a.Seen(e);
        return a;
    }

    public AdminSummary Build(ProcessForest? forest, ScopeTexts texts)
    {
        lock (_gate)
        {
            foreach (var a in _accounts.Values) a.StateChangesNotKept();
            foreach (var (session, info) in _sessions)
                if (_privilegedSessions.Contains(session) && _accounts.TryGetValue(info.Account, out var a))
                    a.PrivilegedLogonsByType[info.Type] = a.PrivilegedLogonsByType.GetValueOrDefault(info.Type) + 1;

            var shellNodes = forest is null ? [] : forest.Nodes.Where(n => n.Tags.Contains("webshell-tree") || n.Tags.Contains("um-tree")).ToList();
            var shellUsers = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
            var shellHosts = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var n in shellNodes)
            {
                shellHosts.Add(n.Host);
                if (n.User is { } u) shellUsers.Add(u);
                if (AccountKey(n.User, n.Host) is { } k && _accounts.TryGetValue(k, out var a)) a.InWebShellTree = true;
            }
            foreach (var a in _accounts.Values)
                if (a.Privileged && _web.TryGetValue(a.Account, out var w))
                {
                    a.WebRequests = w.Count;
                    a.WebSourceIps.UnionWith(w.Ips);
                }
            // A logon or explicit-credential use requested by a process of the tree (runas, net use, psexec).
            if (shellNodes.Count > 0)
            {
                var shellPids = shellNodes.Where(n => n.Pid is not null).GroupBy(n => (Host: n.Host.ToUpperInvariant(), Pid: n.Pid!.Value))
                    .ToDictionary(g => g.Key, g => g.Min(n => n.Start));
                foreach (var (host, pid, time, account) in _credentialUses)
                    if (shellPids.TryGetValue((host.ToUpperInvariant(), pid), out var start) && time >= start && _accounts.TryGetValue(account, out var a))
                        a.InWebShellTree = true;
            }
            // An account named in a web shell command (net use /user:, runas, psexec -u) was used from the tree.
            foreach (var a in _accounts.Values)
            {
                var name = a.Account[(a.Account.LastIndexOf('\\') + 1)..];
                if (a.InWebShellTree || name.Length < 4) continue;
                foreach (var n in shellNodes)
                    if (n.CommandLine is { } cl && MentionsAccount(cl, name)) { a.InWebShellTree = true; break; }
            }

            var accounts = _accounts.Values
                .Where(a => !a.MachineAccount || a.Created || a.AddedToPrivilegedGroup || a.InWebShellTree)
                .OrderByDescending(a => a.InWebShellTree).ThenByDescending(a => a.Privileged).ThenByDescending(a => a.Created)
                .ThenByDescending(a => a.Logons).ThenBy(a => a.Account, StringComparer.Ordinal).ToList();

            var statements = new List<ScopeStatement>();
            string Join(IEnumerable<string> xs, int max = 10)
            {
                var l = xs.ToList();
                return l.Count == 0 ? "(none)" : string.Join(", ", l.Take(max)) + (l.Count > max ? $" and {l.Count - max} more" : "");
            }
            var hostsOf = (string tag) => _tagHosts.TryGetValue(tag, out var h) ? h : [];

            var privInShell = accounts.Where(a => a.InWebShellTree && a.Privileged && !a.MachineAccount).Select(a => a.Display).ToList();
            if (privInShell.Count > 0)
                statements.Add(texts.Make("privileged-in-webshell", ("accounts", Join(privInShell)), ("hosts", Join(shellHosts))));
            if (_aclChanges > 0)
                statements.Add(texts.Make("ad-acl-change", ("count", _aclChanges.ToString(CultureInfo.InvariantCulture)), ("accounts", Join(_aclChangers))));
            if (_groupChanges.Count > 0)
                statements.Add(texts.Make("privileged-group-change", ("changes", Join(_groupChanges, 5))));
            var dumpHosts = hostsOf("lsass-dump").Concat(hostsOf("lsass-access")).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (dumpHosts.Count > 0)
            {
                var exposed = accounts.Where(a => a.Hosts.Overlaps(dumpHosts) && !a.MachineAccount).OrderByDescending(a => a.Privileged).Select(a => a.Display).ToList();
                statements.Add(texts.Make("lsass-dump", ("hosts", Join(dumpHosts)), ("count", exposed.Count.ToString(CultureInfo.InvariantCulture)), ("accounts", Join(exposed))));
            }
            if (shellNodes.Count > 0)
            {
                bool system = shellUsers.Any(u => AccountKey(u) is null || u.EndsWith('$'));
                if (system) statements.Add(texts.Make("webshell-system", ("hosts", Join(shellHosts))));
                var first = shellNodes.Where(n => !n.Inferred).Select(n => n.Start).DefaultIfEmpty(shellNodes.Min(n => n.Start)).Min();
                statements.Add(texts.Make("webshell", ("hosts", Join(shellHosts)), ("accounts", Join(shellUsers)),
                    ("first", first.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture))));
            }
            var created = accounts.Where(a => a.Created).Select(a => a.Display).ToList();
            if (created.Count > 0) statements.Add(texts.Make("new-accounts", ("accounts", Join(created))));
            var clearedHosts = hostsOf("log-cleared");
            if (_logClears > 0 || clearedHosts.Count > 0)
                statements.Add(texts.Make("log-cleared", ("hosts", Join(clearedHosts)), ("count", Math.Max(_logClears, clearedHosts.Count).ToString(CultureInfo.InvariantCulture))));
            // The scan's findings speak for the host even when these logs show no account use of their own.
            if (_firstSuccess is { } fs)
                statements.Add(texts.Make("scan-compromised", ("hosts", Join(_compromisedHosts.Count > 0 ? _compromisedHosts : _findingHosts)),
                    ("count", _successes.ToString(CultureInfo.InvariantCulture)), ("first", Time(fs) + (fs.Tags.Contains(TimelineCollector.FileTimeTag) ? " (a file time, may be a copy time)" : "")),
                    ("title", fs.Field("title") ?? fs.Message)));
            if (statements.Count == 0) statements.Add(texts.Make(_findings > 0 ? "none-with-findings" : "none", ("count", _findings.ToString(CultureInfo.InvariantCulture)), ("hosts", Join(_findingHosts))));
            var findingsOnly = _findingHosts.Except(_hosts, StringComparer.OrdinalIgnoreCase).ToList();
            if (_hosts.Count > 0 || findingsOnly.Count == 0)
                statements.Add(texts.Make("coverage", ("hosts_count", _hosts.Count.ToString(CultureInfo.InvariantCulture)), ("hosts", Join(_hosts)),
                    ("from", _from?.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) ?? "?"),
                    ("to", _to?.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) ?? "?")));
            if (findingsOnly.Count > 0)
                statements.Add(texts.Make("coverage-findings-only", ("hosts", Join(findingsOnly))));
            return new AdminSummary(accounts, statements);
        }
    }

    private static bool MentionsAccount(string commandLine, string account)
    {
        int i = 0;
        while ((i = commandLine.IndexOf(account, i, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            bool startOk = i == 0 || !char.IsLetterOrDigit(commandLine[i - 1]);
            int end = i + account.Length;
            bool endOk = end >= commandLine.Length || !char.IsLetterOrDigit(commandLine[end]);
            if (startOk && endOk) return true;
            i = end;
        }
        return false;
    }
}

public sealed record AdminSummary(IReadOnlyList<AccountActivity> Accounts, IReadOnlyList<ScopeStatement> Statements);

/// <summary>The statement texts (rules/timeline/scope.yaml).</summary>
public sealed class ScopeTexts
{
    private readonly Dictionary<string, string> _texts;
    private ScopeTexts(Dictionary<string, string> texts) => _texts = texts;

    public static ScopeTexts Load(DataFiles rules) => Parse(rules.ReadAllText("timeline/scope.yaml"));

    public static ScopeTexts Parse(string yaml)
    {
        var doc = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .IgnoreUnmatchedProperties().Build().Deserialize<Doc>(yaml) ?? new Doc();
        return new ScopeTexts(new Dictionary<string, string>(doc.Statements ?? [], StringComparer.Ordinal));
    }

    public ScopeStatement Make(string id, params (string Key, string Value)[] values)
    {
        var text = _texts.TryGetValue(id, out var t) ? t.Trim() : id;
        foreach (var (k, v) in values) text = text.Replace("{" + k + "}", v, StringComparison.Ordinal);
        return new ScopeStatement(id, text);
    }

    private sealed class Doc { public Dictionary<string, string>? Statements { get; set; } }
}
