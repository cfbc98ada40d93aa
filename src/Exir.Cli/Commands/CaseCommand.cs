using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Case;
using Exir.Case.Import;
using Exir.Case.Playbook;
using Exir.Case.Store;
using Exir.Core.Findings;

namespace Exir.Cli.Commands;

/// <summary>
/// exir case: one incident over many servers in one store (SQLite file or PostgreSQL). status and hosts read it;
/// import loads output folders; step, set and note record what the responders did and know.
/// </summary>
public static partial class CaseCommand
{
    private const string ReadCodes = "0 no host compromised, 1 a host is compromised or a duty is missed, 2 could not read the case";

    public static Command Create()
    {
        var cmd = new Command("case", VerbHelp.Of(
            "One case for many Exchange servers: hosts, scans, findings, timeline, patch status, quarantine, the checklist and notes in one " +
            "store (a SQLite file, usually exir-case.db, or postgresql:// for a team). Runs write into it with --case; 'case import' loads output folders.",
            ReadCodes,
            "exir case status --case exir-case.db"));
        cmd.Subcommands.Add(Status());
        cmd.Subcommands.Add(Hosts());
        cmd.Subcommands.Add(Import());
        cmd.Subcommands.Add(Step());
        cmd.Subcommands.Add(Set());
        cmd.Subcommands.Add(Note());
        return cmd;
    }

    private static Option<string> CaseOption() => new("--case")
    {
        Description = "The case: a file (SQLite; usually exir-case.db) or postgresql://user@host:port/db",
        DefaultValueFactory = _ => CaseStores.DefaultFileName,
    };

    private static Option<string> FormatOption() => new("--format", "-f") { Description = "What to print on stdout: table, json", DefaultValueFactory = _ => "table" };

    private static Option<string> ByOption() => new("--by") { Description = "Who (defaults to the OS user)", DefaultValueFactory = _ => Environment.UserName };

    /// <summary>Opens an existing case for reading: a missing file is an error here, not a new empty case.</summary>
    private static ICaseStore OpenExisting(string target)
    {
        if (!CaseStores.IsPostgresUrl(target) && !File.Exists(target))
            throw new UsageException($"no case at {target} (scan with --case {target}, or 'exir case import DIR --case {target}')");
        return CaseStores.Open(target);
    }

    private static string FormatOf(ParseResult parse, Option<string> format)
    {
        var f = (parse.GetValue(format) ?? "table").Trim().ToLowerInvariant();
        return f is "table" or "json" ? f : throw new UsageException($"unknown --format '{f}' (use table, json)");
    }

    // ---- status ----------------------------------------------------------------------------------------

    private static Command Status()
    {
        var target = CaseOption();
        var format = FormatOption();
        var lang = LangOption();
        var knowledge = CommonOptions.Knowledge();
        var cmd = new Command("status", VerbHelp.Of(
            "The case at a glance: each server's latest verdict and findings, campaigns across servers, the steps set, and the checklist with its deadlines.",
            ReadCodes, "exir case status --case exir-case.db"))
        { target, format, lang, knowledge };
        cmd.SetAction(parse =>
        {
            var fmt = FormatOf(parse, format);
            var playbook = CaseChecklist.LoadPlaybook(parse.GetValue(knowledge));
            using var store = OpenExisting(parse.GetValue(target)!);
            var snap = store.Read();
            var latest = snap.LatestPerHost;
            bool compromised = latest.Any(h => h.Verdict == VerdictKind.Compromised);
            var checklist = CaseChecklist.Build(playbook, snap, CaseChecklist.Language(playbook, parse.GetValue(lang), snap.Settings));
            bool dutyMissed = checklist.Items.Any(i => i.Missed);
            if (fmt == "json") WriteStatusJson(snap, checklist);
            else WriteStatusTable(snap, Console.Out, checklist, playbook);
            return compromised || dutyMissed ? ExitCodes.Findings : ExitCodes.Clean;
        });
        return cmd;
    }

    private static string T(string? s) => Exir.Core.TextSafety.ForTerminal(s);
    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);

    private static string Label(VerdictKind v) => v switch
    {
        VerdictKind.Compromised => "COMPROMISED",
        VerdictKind.Attempted => "ATTEMPTED",
        _ => "NO EVIDENCE FOUND",
    };

    private static Option<string?> LangOption() => new("--lang") { Description = "Language of the checklist and report texts: en or de (default: the case's language setting, else en)" };

    internal static void WriteStatusTable(CaseSnapshot snap, TextWriter o, Checklist? checklist = null, IncidentPlaybook? playbook = null)
    {
        var s = snap.Settings;
        o.WriteLine($"Case: {T(s.Name ?? "(unnamed)")}{(s.Organisation is { } org ? " - " + T(org) : "")}");
        o.WriteLine($"Store: {T(snap.StoreDescription)} (schema {snap.SchemaVersion})");
        o.WriteLine($"Aware since: {(s.AwareUtc is { } a ? Utc(a) : "not set (exir case set aware_utc ...)")}");
        o.WriteLine();
        WriteHostsTable(snap, o);
        o.WriteLine();
        o.WriteLine($"Findings: {snap.TotalFindings}   Campaigns (incidents across hosts): {snap.Campaigns.Count}   Timeline rows: {snap.TimelineEvents}");
        int domainAdmins = snap.AdminAccess.Count(x => x.DomainAdmin), shellAccounts = snap.AdminAccess.Count(x => x.InWebShellTree);
        o.WriteLine($"Admin accounts: {snap.AdminAccess.Count} ({domainAdmins} domain admin(s), {shellAccounts} in a web shell's process tree)   Quarantined files: {snap.Quarantine.Count}");
        foreach (var c in snap.Campaigns.Take(10))
            o.WriteLine($"  {c.Id}  {c.Outcome.ToWire(),-9} {string.Join(", ", c.Hosts.Select(T))}" +
                        (c.ClientIps.Count > 0 ? $"  from {string.Join(", ", c.ClientIps.Take(5).Select(T))}" : "") +
                        (c.First is { } f ? $"  {Utc(f)}" : ""));
        if (snap.Campaigns.Count > 10) o.WriteLine($"  ... and {snap.Campaigns.Count - 10} more");
        o.WriteLine();
        if (snap.Steps.Count == 0) o.WriteLine("Steps: none set yet (exir case step STEP done|n/a|open)");
        else
        {
            o.WriteLine("Steps:");
            foreach (var st in snap.Steps)
                o.WriteLine($"  {T(st.StepId),-28} {st.State,-5} {T(st.By)} {Utc(st.AtUtc)}{(st.Note is { } n ? "  " + T(n) : "")}");
        }
        if (checklist is not null && playbook is not null) WriteChecklistTable(checklist, playbook, o);
    }

    private static string NeedText(Need n) => n switch
    {
        Need.Required => "required",
        Need.Recommended => "recommended",
        Need.NotApplicable => "n/a",
        _ => "optional",
    };

    /// <summary>The checklist: what the case calls for, its state, and the deadlines (missed ones flagged).</summary>
    internal static void WriteChecklistTable(Checklist checklist, IncidentPlaybook playbook, TextWriter o)
    {
        o.WriteLine();
        o.WriteLine($"Checklist (playbook {T(checklist.PlaybookVersion)}):");
        o.WriteLine($"  {"ID",-22} {"NEED",-11} {"STATE",-5}  TITLE / DEADLINE");
        foreach (var i in checklist.Items)
        {
            o.WriteLine($"  {T(i.Id),-22} {NeedText(i.Need),-11} {i.State,-5}  {T(i.Title)}{(i.Missed ? "   [MISSED]" : "")}");
            if (i.DeadlineLocal is { } d)
                o.WriteLine($"  {"",-22} {"",-11} {"",-5}  {(checklist.Language == "de" ? "Frist" : "deadline")} {T(d)}" + (i.TimeLeft is { } left && i.State == StepStates.Open
                    ? $" ({T(DeadlineClock.TimeLeftText(playbook, left, checklist.Language))})" : ""));
            else if (i.DeadlineNote is { } dn && i.Need is Need.Required or Need.Recommended)
                o.WriteLine($"  {"",-22} {"",-11} {"",-5}  {T(dn)}");
            foreach (var r in i.Reasons.Take(3))
                o.WriteLine($"  {"",-22} {"",-11} {"",-5}  - {T(r)}");
        }
    }


    internal static void WriteHostsTable(CaseSnapshot snap, TextWriter o)
    {
        var counts = snap.FindingCounts.GroupBy(c => c.HostId).ToDictionary(g => g.Key, g => g.Sum(c => c.Count));
        var latest = snap.LatestPerHost.ToDictionary(h => h.HostId);
        o.WriteLine($"{"HOST",-20} {"VERDICT",-18} {"FINDINGS",8}  {"BUILD",-16} {"PATCH",-17} LAST SCAN");
        foreach (var h in snap.Hosts)
        {
            latest.TryGetValue(h.HostId, out var hs);
            var verdict = hs is null ? "(no scan)" : Label(hs.Verdict);
            var build = hs?.ExchangeBuild ?? hs?.PatchStatus?.Build ?? "?";
            var patch = hs?.PatchStatus?.Action ?? "unknown";
            o.WriteLine($"{T(h.Name),-20} {verdict,-18} {counts.GetValueOrDefault(h.HostId),8}  {T(build),-16} {T(patch),-17} {(hs is null ? "-" : Utc(hs.FinishedUtc))}");
        }
        if (snap.Hosts.Count == 0) o.WriteLine("(no hosts yet)");
    }

    private static void WriteStatusJson(CaseSnapshot snap, Checklist checklist)
    {
        using var w = new Utf8JsonWriter(Console.OpenStandardOutput(), FindingJson.WriterOptions with { Indented = true });
        w.WriteStartObject();
        w.WriteString("store", snap.StoreDescription);
        w.WriteNumber("schema_version", snap.SchemaVersion);
        w.WriteString("read_utc", FindingJson.Iso(snap.ReadUtc));
        w.WriteStartObject("settings");
        FindingJson.WriteNullable(w, "name", snap.Settings.Name);
        FindingJson.WriteNullable(w, "organisation", snap.Settings.Organisation);
        FindingJson.WriteNullable(w, "aware_utc", snap.Settings.AwareUtc is { } a ? FindingJson.Iso(a) : null);
        w.WriteString("time_zone", snap.Settings.TimeZone);
        Bool(w, "critical_infrastructure", snap.Settings.CriticalInfrastructure);
        Bool(w, "personal_data", snap.Settings.PersonalData);
        Bool(w, "high_risk", snap.Settings.HighRisk);
        w.WriteEndObject();
        w.WritePropertyName("hosts");
        WriteHostsJson(w, snap);
        w.WriteNumber("findings", snap.TotalFindings);
        w.WriteNumber("campaigns", snap.Campaigns.Count);
        w.WriteNumber("timeline_rows", snap.TimelineEvents);
        w.WriteNumber("admin_accounts", snap.AdminAccess.Count);
        w.WriteNumber("domain_admins", snap.AdminAccess.Count(x => x.DomainAdmin));
        w.WriteNumber("quarantined_files", snap.Quarantine.Count);
        w.WriteStartArray("steps");
        foreach (var st in snap.Steps)
        {
            w.WriteStartObject();
            w.WriteString("step", st.StepId);
            w.WriteString("state", st.State);
            FindingJson.WriteNullable(w, "note", st.Note);
            w.WriteString("by", st.By);
            w.WriteString("at_utc", FindingJson.Iso(st.AtUtc));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("playbook_version", checklist.PlaybookVersion);
        w.WriteString("language", checklist.Language);
        w.WriteStartArray("checklist");
        foreach (var i in checklist.Items)
        {
            w.WriteStartObject();
            w.WriteString("id", i.Id);
            w.WriteString("kind", i.Kind);
            w.WriteString("title", i.Title);
            w.WriteString("need", NeedText(i.Need));
            w.WriteString("state", i.State);
            FindingJson.WriteNullable(w, "state_by", i.StateBy);
            FindingJson.WriteNullable(w, "state_utc", i.StateAtUtc is { } at ? FindingJson.Iso(at) : null);
            FindingJson.WriteNullable(w, "note", i.StateNote);
            FindingJson.WriteNullable(w, "deadline_utc", i.DeadlineUtc is { } du ? FindingJson.Iso(du) : null);
            FindingJson.WriteNullable(w, "deadline_local", i.DeadlineLocal);
            if (i.TimeLeft is { } tl) w.WriteNumber("hours_left", Math.Round(tl.TotalHours, 2)); else w.WriteNull("hours_left");
            w.WriteBoolean("missed", i.Missed);
            FindingJson.WriteNullable(w, "deadline_note", i.DeadlineNote);
            w.WriteStartArray("reasons");
            foreach (var r in i.Reasons) w.WriteStringValue(r);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        Console.Out.WriteLine();
    }

    private static void Bool(Utf8JsonWriter w, string name, bool? v)
    {
        if (v is { } b) w.WriteBoolean(name, b); else w.WriteNull(name);
    }

    private static void WriteHostsJson(Utf8JsonWriter w, CaseSnapshot snap)
    {
        var counts = snap.FindingCounts.GroupBy(c => c.HostId).ToDictionary(g => g.Key, g => g.Sum(c => c.Count));
        var latest = snap.LatestPerHost.ToDictionary(h => h.HostId);
        w.WriteStartArray();
        foreach (var h in snap.Hosts)
        {
            latest.TryGetValue(h.HostId, out var hs);
            w.WriteStartObject();
            w.WriteString("host_id", h.HostId);
            w.WriteString("name", h.Name);
            FindingJson.WriteNullable(w, "verdict", hs is null ? null : Label(hs.Verdict));
            w.WriteNumber("findings", counts.GetValueOrDefault(h.HostId));
            FindingJson.WriteNullable(w, "exchange_build", hs?.ExchangeBuild);
            FindingJson.WriteNullable(w, "patch_action", hs?.PatchStatus?.Action);
            FindingJson.WriteNullable(w, "last_scan_id", hs?.ScanId);
            FindingJson.WriteNullable(w, "last_scan_utc", hs is null ? null : FindingJson.Iso(hs.FinishedUtc));
            w.WriteString("first_seen_utc", FindingJson.Iso(h.FirstSeenUtc));
            w.WriteString("last_seen_utc", FindingJson.Iso(h.LastSeenUtc));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    // ---- hosts -----------------------------------------------------------------------------------------

    private static Command Hosts()
    {
        var target = CaseOption();
        var format = FormatOption();
        var cmd = new Command("hosts", VerbHelp.Of("The case's servers: latest verdict, findings, Exchange build, patch action and when each was last scanned.",
            "0 listed, 2 could not read the case", "exir case hosts --case exir-case.db --format json"))
        { target, format };
        cmd.SetAction(parse =>
        {
            var fmt = FormatOf(parse, format);
            using var store = OpenExisting(parse.GetValue(target)!);
            var snap = store.Read(new CaseReadOptions { MaxFindingsPerRule = 0, MaxTimelineRows = 0, MaxEvidenceFiles = 0 });
            if (fmt == "json")
            {
                using var w = new Utf8JsonWriter(Console.OpenStandardOutput(), FindingJson.WriterOptions with { Indented = true });
                WriteHostsJson(w, snap);
                w.Flush();
                Console.Out.WriteLine();
            }
            else WriteHostsTable(snap, Console.Out);
            return ExitCodes.Clean;
        });
        return cmd;
    }

    // ---- import ----------------------------------------------------------------------------------------

    private static Command Import()
    {
        var dirs = new Argument<string[]>("DIR") { Description = "Output folders of exir scan, timeline or inventory (--out), or a quarantine store", Arity = ArgumentArity.OneOrMore };
        var target = CaseOption();
        var cmd = new Command("import", VerbHelp.Of(
            "Load exir output folders into the case: summary.json and findings.jsonl of a scan, a timeline's rows and administrator access, " +
            "inventory.json, a quarantine store's manifest. What the case has already (the same scan written with --case) is not added twice.",
            "0 imported, 1 imported but some lines or files could not be used, 2 could not write the case",
            "exir case import /tmp/exch01-report /tmp/exch02-report --case exir-case.db"))
        { dirs, target };
        cmd.SetAction(parse =>
        {
            var folders = parse.GetValue(dirs) ?? [];
            foreach (var d in folders)
                if (!Directory.Exists(d)) throw new UsageException($"not a folder: {d}");
            using var store = CaseStores.Open(parse.GetValue(target)!);
            long problems = 0;
            foreach (var d in folders)
            {
                var r = CaseImporter.Import(store, d);
                problems += r.ProblemCount;
                Console.Out.WriteLine($"{T(d)}: {(r.Kinds.Count == 0 ? "nothing imported" : string.Join(", ", r.Kinds))}; " +
                                      $"{r.FindingsAdded} finding(s) added, {r.FindingsKnown} already in the case" +
                                      (r.TimelineRowsAdded > 0 ? $", {r.TimelineRowsAdded} timeline row(s) added" : "") +
                                      (r.ProblemCount > 0 ? $"; {r.ProblemCount} problem(s)" : ""));
                foreach (var p in r.Problems) Console.Error.WriteLine($"exir: {T(p)}");
                if (r.ProblemCount > r.Problems.Count) Console.Error.WriteLine($"exir: ... and {r.ProblemCount - r.Problems.Count} more problem(s) in {T(d)}");
            }
            Console.Error.WriteLine($"exir: case {T(store.Description)}");
            return problems > 0 ? ExitCodes.Findings : ExitCodes.Clean;
        });
        return cmd;
    }

    // ---- step ------------------------------------------------------------------------------------------

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex StepId();

    private static Command Step()
    {
        var step = new Argument<string>("STEP") { Description = "The checklist step or duty id (as 'exir case status' lists them), e.g. patch-or-shutdown, dpo-consulted, authority-notified" };
        var knowledge = CommonOptions.Knowledge();
        var state = new Argument<string>("STATE") { Description = "done, n/a or open" };
        var note = new Option<string?>("--note") { Description = "Why, or what was done (kept with the change)" };
        var by = ByOption();
        var target = CaseOption();
        var cmd = new Command("step", VerbHelp.Of("Record a checklist step's state (done, n/a, open) with who and why; every change is kept.",
            "0 recorded, 2 could not (unknown state, bad step id, unwritable case)", "exir case step patch-or-shutdown done --note \"SU installed on EXCH01\" --case exir-case.db"))
        { step, state, note, by, target, knowledge };
        cmd.SetAction(parse =>
        {
            var id = (parse.GetValue(step) ?? "").Trim().ToLowerInvariant();
            var st = (parse.GetValue(state) ?? "").Trim().ToLowerInvariant();
            if (st is "na" or "n.a.") st = StepStates.NotApplicable;
            if (!StepStates.All.Contains(st)) throw new UsageException($"'{parse.GetValue(state)}' is not a state: use done, n/a or open");
            if (!StepId().IsMatch(id)) throw new UsageException($"'{parse.GetValue(step)}' is not a step id (lower-case letters, digits, '-', '_', '.')");
            var playbook = CaseChecklist.LoadPlaybook(parse.GetValue(knowledge));
            if (playbook.Find(id) is null)
                throw new UsageException($"'{parse.GetValue(step)}' is not a step of the playbook {playbook.Version}: use one of {string.Join(", ", playbook.Items.Select(i => i.Id))}");
            var who = parse.GetValue(by) is { Length: > 0 } b ? b : Environment.UserName;
            using var store = CaseStores.Open(parse.GetValue(target)!);
            var r = store.SetStep(id, st, parse.GetValue(note), who, DateTimeOffset.UtcNow);
            Console.Out.WriteLine($"{T(r.StepId)}: {r.State} ({T(r.By)}, {Utc(r.AtUtc)})");
            return ExitCodes.Clean;
        });
        return cmd;
    }

    // ---- set -------------------------------------------------------------------------------------------

    private static readonly string[] SettingKeys =
    [
        CaseSettings.Keys.Name, CaseSettings.Keys.Organisation, CaseSettings.Keys.AwareUtc, CaseSettings.Keys.TimeZone,
        CaseSettings.Keys.CriticalInfrastructure, CaseSettings.Keys.PersonalData, CaseSettings.Keys.HighRisk, CaseSettings.Keys.Language,
    ];

    private static Command Set()
    {
        var key = new Argument<string>("KEY") { Description = "One of: " + string.Join(", ", SettingKeys) };
        var value = new Argument<string>("VALUE") { Description = "The value; yes/no for critical_infrastructure, personal_data, high_risk; ISO-8601 for aware_utc" };
        var tz = new Option<string?>("--tz") { Description = "aware_utc given as local time without offset: its IANA time zone (e.g. Europe/Berlin)" };
        var target = CaseOption();
        var cmd = new Command("set", VerbHelp.Of(
            "Record a fact of the case the duties depend on: when the organisation became aware (aware_utc starts the 72-hour clock of GDPR Art. 33), " +
            "its time zone, critical infrastructure (KRITIS), personal data, high risk, name, organisation, report language.",
            "0 recorded, 2 could not (unknown key, bad value, unwritable case)", "exir case set aware_utc 2021-03-04T09:30 --tz Europe/Berlin --case exir-case.db"))
        { key, value, tz, target };
        cmd.SetAction(parse =>
        {
            var k = (parse.GetValue(key) ?? "").Trim().ToLowerInvariant();
            if (!SettingKeys.Contains(k)) throw new UsageException($"unknown key '{parse.GetValue(key)}' (use {string.Join(", ", SettingKeys)})");
            var stored = SettingValue(k, parse.GetValue(value) ?? "", parse.GetValue(tz));
            using var store = CaseStores.Open(parse.GetValue(target)!);
            store.SetSetting(k, stored);
            Console.Out.WriteLine($"{k} = {T(stored)}");
            return ExitCodes.Clean;
        });
        return cmd;
    }

    /// <summary>The value as stored (times as UTC, booleans as true/false); <see cref="UsageException"/> when it is not valid for the key.</summary>
    internal static string SettingValue(string key, string value, string? tz)
    {
        value = value.Trim();
        switch (key)
        {
            case CaseSettings.Keys.AwareUtc:
                return CaseTime.Format(ParseAware(value, tz));
            case CaseSettings.Keys.TimeZone:
                FindZone(value, "time_zone");
                return value;
            case CaseSettings.Keys.CriticalInfrastructure or CaseSettings.Keys.PersonalData or CaseSettings.Keys.HighRisk:
                return value.ToLowerInvariant() switch
                {
                    "yes" or "true" or "y" or "ja" or "1" => "true",
                    "no" or "false" or "n" or "nein" or "0" => "false",
                    _ => throw new UsageException($"{key}: '{value}' is not yes or no"),
                };
            case CaseSettings.Keys.Language:
                return value.ToLowerInvariant() is "en" or "de" ? value.ToLowerInvariant() : throw new UsageException("language: use en or de");
            default:
                if (value.Length == 0) throw new UsageException($"{key}: give a value");
                return value;
        }
    }

    private static DateTimeOffset ParseAware(string value, string? tz)
    {
        var styles = DateTimeStyles.AllowWhiteSpaces;
        string[] local = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"];
        bool hasOffset = value.EndsWith('Z') || value.EndsWith('z') || Regex.IsMatch(value, @"[+-]\d\d:?\d\d$");
        if (hasOffset)
        {
            if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, styles, out var t))
                throw new UsageException($"aware_utc: '{value}' is not an ISO-8601 time (e.g. 2021-03-04T09:30+01:00)");
            if (tz is not null) throw new UsageException("aware_utc: give an offset or --tz, not both");
            return t.ToUniversalTime();
        }
        if (!DateTime.TryParseExact(value, local, CultureInfo.InvariantCulture, styles, out var wall))
            throw new UsageException($"aware_utc: '{value}' is not an ISO-8601 time (e.g. 2021-03-04T09:30+01:00, or 2021-03-04T09:30 with --tz Europe/Berlin)");
        if (tz is null) throw new UsageException("aware_utc: a time without offset needs --tz Area/City (e.g. --tz Europe/Berlin), or write it with an offset");
        var zone = FindZone(tz, "--tz");
        wall = DateTime.SpecifyKind(wall, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(wall)) throw new UsageException($"aware_utc: {value} does not exist in {tz} (the clocks skipped it)");
        // An ambiguous wall time (the hour clocks go back) is taken as the earlier instant: the 72 hours start no later than they might.
        var offset = zone.IsAmbiguousTime(wall) ? zone.GetAmbiguousTimeOffsets(wall).Max() : zone.GetUtcOffset(wall);
        return new DateTimeOffset(wall, offset).ToUniversalTime();
    }

    private static TimeZoneInfo FindZone(string id, string what) =>
        CaseTimeZones.TryFind(id, out var zone) ? zone
            // exir runs with invariant globalization: on Windows the IANA names need ICU, so the Windows name is the way there.
            : throw new UsageException($"{what}: '{id}' is not a time zone here (use an IANA name such as Europe/Berlin or UTC; on Windows the Windows name, e.g. \"W. Europe Standard Time\")");

    // ---- note ------------------------------------------------------------------------------------------

    private static Command Note()
    {
        var text = new Argument<string>("TEXT") { Description = "The note" };
        var host = new Option<string?>("--host") { Description = "The server the note is about (the case's as a whole without it)" };
        var by = ByOption();
        var target = CaseOption();
        var cmd = new Command("note", VerbHelp.Of("Add a responder's note to the case or to one server.", "0 recorded, 2 could not",
            "exir case note \"EXCH02 taken off the network 14:05\" --host EXCH02 --case exir-case.db"))
        { text, host, by, target };
        cmd.SetAction(parse =>
        {
            var t = parse.GetValue(text) ?? "";
            if (string.IsNullOrWhiteSpace(t)) throw new UsageException("the note is empty");
            var who = parse.GetValue(by) is { Length: > 0 } b ? b : Environment.UserName;
            using var store = CaseStores.Open(parse.GetValue(target)!);
            var n = store.AddNote(parse.GetValue(host), t, who, DateTimeOffset.UtcNow);
            Console.Out.WriteLine($"note {n.Id} ({T(n.By)}, {Utc(n.AtUtc)})");
            return ExitCodes.Clean;
        });
        return cmd;
    }
}
