using Exir.Case.Playbook;
using Exir.Core.Findings;
using static Exir.Case.Tests.ChecklistSnapshots;

namespace Exir.Case.Tests;

public class ChecklistTests
{
    [Fact]
    public void CompromisedHostMakesAssumeCompromiseAndForensicsRequired()
    {
        var snapshot = Snapshot(null, HostScan("EXCH01", VerdictKind.Compromised, Patched()), HostScan("EXCH02", VerdictKind.NoEvidenceFound, Patched()));
        var en = Build(snapshot);
        foreach (var id in new[] { "assume-compromise", "forensics", "ioc-hunt", "remove-malware", "scope-ad", "password-reset", "limit-access" })
            Assert.Equal(Need.Required, en.Item(id).Need);
        Assert.Equal(["Signs of successful compromise on EXCH01."], en.Item("assume-compromise").Reasons);
        // Mailboxes hold personal data: the GDPR duties apply until the responders decide otherwise.
        Assert.Equal(Need.Required, en.Item("dpo-consulted").Need);
        Assert.Equal(Need.Required, en.Item("authority-notified").Need);
        Assert.Equal(Need.Recommended, en.Item("criminal-complaint").Need);

        var de = Build(snapshot, "de");
        Assert.Equal("de", de.Language);
        Assert.Equal("Von einer Kompromittierung ausgehen", de.Item("assume-compromise").Title);
        Assert.Equal(["Anzeichen einer erfolgreichen Kompromittierung auf EXCH01."], de.Item("assume-compromise").Reasons);
    }

    [Fact]
    public void CleanCaseCallsForNoIncidentStep()
    {
        var c = Build(Snapshot(null, HostScan("EXCH01", VerdictKind.NoEvidenceFound, Patched())));
        foreach (var id in new[] { "patch-or-shutdown", "assume-compromise", "remove-malware", "limit-access", "ad-rebuild", "authority-notified" })
            Assert.Equal(Need.Optional, c.Item(id).Need);
        Assert.Equal(["No server of the case shows signs of compromise."], c.Item("assume-compromise").Reasons);
        Assert.Contains("exir case set personal_data", Assert.Single(c.Item("authority-notified").Reasons));
    }

    [Fact]
    public void AttemptedHostMakesTheHuntRequiredAndUnpatchedTargetsSuspect()
    {
        var c = Build(Snapshot(null, HostScan("EXCH01", VerdictKind.Attempted, Vulnerable("CVE-2021-34473", "CVE-2021-26855")), HostScan("EXCH02", VerdictKind.Attempted, Patched())));
        Assert.Equal(Need.Required, c.Item("ioc-hunt").Need);
        Assert.Equal("Exploit attempts on EXCH01 and EXCH02: rule out success with a deep scan including the event logs.", Assert.Single(c.Item("ioc-hunt").Reasons));
        Assert.Equal(Need.Recommended, c.Item("assume-compromise").Need);
        Assert.Contains("unpatched EXCH01;", Assert.Single(c.Item("assume-compromise").Reasons));
        Assert.Equal(Need.Required, c.Item("limit-access").Need);
        Assert.Equal(Need.Recommended, c.Item("forensics").Need);
    }

    [Fact]
    public void OpenCvesAndUnsupportedVersionsMakePatchingRequired()
    {
        var snapshot = Snapshot(null, HostScan("EXCH01", VerdictKind.NoEvidenceFound, Vulnerable("CVE-2021-34473", "CVE-2021-26855")),
            HostScan("EXCH02", VerdictKind.NoEvidenceFound)) with
        {
            Assessments =
            [
                new CaseAssessment { ScanId = "inv", Target = "legacy.example.org", Build = "14.3.513.0", Supported = false, Action = "shutdown-migrate", AtUtc = ScanTime },
                new CaseAssessment { ScanId = "inv", Target = "bad", Error = "not a build", AtUtc = ScanTime },
            ],
        };
        var item = Build(snapshot).Item("patch-or-shutdown");
        Assert.Equal(Need.Required, item.Need);
        Assert.Equal(
        [
            "Exploited vulnerabilities are open on EXCH01: CVE-2021-26855 and CVE-2021-34473.",
            "Without security updates (version out of support): legacy.example.org. Take them off the internet and migrate.",
        ], item.Reasons);
    }

    [Fact]
    public void NewerInventoryOfAHostReplacesItsScansPatchStatus()
    {
        var snapshot = Snapshot(null, HostScan("EXCH01", VerdictKind.NoEvidenceFound, Vulnerable("CVE-2023-21529"))) with
        {
            Assessments = [new CaseAssessment { ScanId = "inv", HostId = HostIds.For("EXCH01"), Target = "exch01", Build = "15.2.1748.39", Supported = true, Action = "none", AtUtc = ScanTime.AddHours(5) }],
        };
        Assert.Equal(Need.Optional, Build(snapshot).Item("patch-or-shutdown").Need);
    }

    [Fact]
    public void UnknownBuildRecommendsAnInventory()
    {
        var item = Build(Snapshot(null, HostScan("EXCH01", VerdictKind.NoEvidenceFound, new PatchStatus { Error = "build not in the evidence" }))).Item("patch-or-shutdown");
        Assert.Equal(Need.Recommended, item.Need);
        Assert.Contains("The build of EXCH01 is not known", Assert.Single(item.Reasons));
    }

    [Theory]
    [InlineData(false, Need.NotApplicable)]
    [InlineData(true, Need.Required)]
    [InlineData(null, Need.Recommended)]
    public void BsiReportFollowsTheCriticalInfrastructureSetting(bool? kritis, Need expected)
    {
        var c = Build(Snapshot(new CaseSettings { CriticalInfrastructure = kritis }, HostScan("EXCH01", VerdictKind.Compromised)));
        Assert.Equal(expected, c.Item("bsi-report").Need);
        Assert.Single(c.Item("bsi-report").Reasons);
    }

    [Fact]
    public void DomainAdminInAShellsProcessTreeMakesTheAdRebuildRequired()
    {
        var host = HostScan("EXCH01", VerdictKind.Compromised);
        CaseSnapshot With(params CaseAdminAccount[] accounts) => Snapshot(null, host) with { AdminAccess = accounts };
        var da = new CaseAdminAccount { Account = "CORP\\da-jens", DomainAdmin = true, InWebShellTree = true, Hosts = [host.HostId] };
        var helpdesk = new CaseAdminAccount { Account = "CORP\\helpdesk", InWebShellTree = true, Hosts = [host.HostId] };

        var required = Build(With(da, helpdesk)).Item("ad-rebuild");
        Assert.Equal(Need.Required, required.Need);
        Assert.Equal(["Domain administrator accounts ran in a web shell's process tree: CORP\\da-jens."], required.Reasons);

        var recommended = Build(With(helpdesk)).Item("ad-rebuild");
        Assert.Equal(Need.Recommended, recommended.Need);
        Assert.Equal(["Administrator accounts ran in a web shell's process tree: CORP\\helpdesk."], recommended.Reasons);

        Assert.Equal(Need.Optional, Build(With()).Item("ad-rebuild").Need);
    }

    [Fact]
    public void DomainAdminLogonFromAnAttackerAddressRecommendsTheAdRebuild()
    {
        var host = HostScan("EXCH01", VerdictKind.Compromised);
        var snapshot = Snapshot(null, host) with
        {
            Findings = [new Finding { RuleId = "PROXYSHELL", Title = "ProxyShell", Artifact = "iis.log", Outcome = Outcome.Success, ClientIp = "::ffff:203.0.113.7" }],
            AdminAccess =
            [
                new CaseAdminAccount { Account = "CORP\\administrator", DomainAdmin = true, SourceIps = ["203.0.113.7"], Hosts = [host.HostId] },
                new CaseAdminAccount { Account = "CORP\\backup", DomainAdmin = true, SourceIps = ["10.0.0.5"], Hosts = [host.HostId] },
            ],
        };
        var c = Build(snapshot);
        Assert.Equal(Need.Recommended, c.Item("ad-rebuild").Need);
        Assert.Equal(["Domain administrators logged on from attacker addresses: CORP\\administrator."], c.Item("ad-rebuild").Reasons);
        Assert.Contains("Administrator logons came from attacker addresses: CORP\\administrator.", c.Item("scope-ad").Reasons);
    }

    [Fact]
    public void PersonalDataSetToFalseMakesTheGdprDutiesNotApplicable()
    {
        var c = Build(Snapshot(new CaseSettings { PersonalData = false }, HostScan("EXCH01", VerdictKind.Compromised)));
        foreach (var id in new[] { "dpo-consulted", "authority-notified", "subjects-informed" })
            Assert.Equal(Need.NotApplicable, c.Item(id).Need);
        // A setting never hides a technical step the findings call for.
        Assert.Equal(Need.Required, c.Item("assume-compromise").Need);
    }

    [Fact]
    public void HighRiskMakesInformingTheDataSubjectsRequired()
    {
        Assert.Equal(Need.Required, Build(Snapshot(new CaseSettings { HighRisk = true, PersonalData = true })).Item("subjects-informed").Need);
        Assert.Equal(Need.NotApplicable, Build(Snapshot(new CaseSettings { HighRisk = false }, HostScan("EXCH01", VerdictKind.Compromised))).Item("subjects-informed").Need);
        var undecided = Build(Snapshot(null, HostScan("EXCH01", VerdictKind.Compromised)), "de").Item("subjects-informed");
        Assert.Equal(Need.Recommended, undecided.Need);
        Assert.Contains("exir case set high_risk true|false", Assert.Single(undecided.Reasons));
    }

    [Fact]
    public void QuarantinedFilesAddAHintToTheMalwareStep()
    {
        var host = HostScan("EXCH01", VerdictKind.Compromised);
        CaseQuarantineItem Q(string id, string state) => new() { Id = id, HostId = host.HostId, OriginalPath = "C:\\x\\" + id + ".aspx", Sha256 = new string('a', 64), State = state };
        var snapshot = Snapshot(null, host) with { Quarantine = [Q("a", "removed"), Q("b", "stored"), Q("c", "restored")] };
        var item = Build(snapshot).Item("remove-malware");
        Assert.Equal(Need.Required, item.Need);
        Assert.Equal(
        [
            "Web shells or other malware were found on EXCH01.",
            "Files in quarantine: 2, from EXCH01. Mark this step done once every affected server is clean or rebuilt.",
        ], item.Reasons);
    }

    [Fact]
    public void CoverageGapsAreNamedForTheHunt()
    {
        var gappy = new CaseCoverage
        {
            Families = [new CaseLogFamily("HttpProxy", 3, 100, 0, 1000, ScanTime.AddDays(-30), ScanTime, [(new DateOnly(2026, 11, 3), new DateOnly(2026, 11, 9))])],
        };
        var unreadable = new CaseCoverage { IssueCounts = new Dictionary<string, long> { ["Unreadable"] = 2 } };
        var c = Build(Snapshot(null, HostScan("EXCH01", VerdictKind.NoEvidenceFound, Patched(), gappy), HostScan("EXCH02", VerdictKind.NoEvidenceFound, Patched(), unreadable),
            HostScan("EXCH03", VerdictKind.NoEvidenceFound, Patched())));
        Assert.Contains("The evidence of EXCH01 and EXCH02 has gaps", Assert.Single(c.Item("ioc-hunt").Reasons));
    }

    [Fact]
    public void StateNoteAuthorAndTimeComeFromTheLatestChange()
    {
        var t = ScanTime;
        var snapshot = Snapshot(null, HostScan("EXCH01", VerdictKind.Compromised)) with
        {
            StepHistory = [Step("forensics", "n/a", t, "bob", "not our job"), Step("forensics", "done", t.AddHours(3), "alice", "CERT report #4711")],
            Steps = [Step("forensics", "done", t.AddHours(3), "alice", "CERT report #4711")],
        };
        var item = Build(snapshot, now: t.AddHours(5)).Item("forensics");
        Assert.Equal(StepStates.Done, item.State);
        Assert.Equal("alice", item.StateBy);
        Assert.Equal("CERT report #4711", item.StateNote);
        Assert.Equal(t.AddHours(3), item.StateAtUtc);
        Assert.Equal(StepStates.Open, Build(snapshot).Item("ioc-hunt").State);
    }

    [Fact]
    public void StateSetAfterNotApplicableIsTheCurrentOneEvenWhenOnlyTheHistoryCarriesIt()
    {
        var t = ScanTime;
        var snapshot = Snapshot(new CaseSettings { CriticalInfrastructure = false }) with
        {
            StepHistory = [Step("bsi-report", "n/a", t, "bob"), Step("bsi-report", "open", t.AddHours(1), "carol", "we are KRITIS after all")],
        };
        var item = Build(snapshot).Item("bsi-report");
        Assert.Equal(StepStates.Open, item.State);
        Assert.Equal("carol", item.StateBy);
        Assert.Equal("we are KRITIS after all", item.StateNote);
    }

    [Fact]
    public void NotApplicableStepTheFindingsRequireIsQuestioned()
    {
        var snapshot = Snapshot(null, HostScan("EXCH01", VerdictKind.Compromised)) with { Steps = [Step("assume-compromise", "n/a", ScanTime, "bob")] };
        var en = Build(snapshot).Item("assume-compromise");
        Assert.Equal(StepStates.NotApplicable, en.State);
        Assert.Equal(Need.Required, en.Need);
        Assert.Equal("Marked n/a by bob, but the case's findings call for this step: check that decision.", en.Reasons[^1]);
        Assert.StartsWith("bob hat diesen Punkt als nicht zutreffend markiert", Build(snapshot, "de").Item("assume-compromise").Reasons[^1]);
    }

    [Fact]
    public void StepsThePlaybookDoesNotKnowAreNamedNotDropped()
    {
        var snapshot = Snapshot() with { Steps = [Step("call-the-ceo", "done", ScanTime), Step("forensics", "bogus-state", ScanTime)] };
        var c = Build(snapshot);
        Assert.Equal(["The case records step 'call-the-ceo' (done), which this playbook does not have; it is not shown in the checklist."], c.Notes);
        Assert.Equal(StepStates.Open, c.Item("forensics").State);
    }

    [Fact]
    public void LanguageIsMatchedLooselyAndAnUnknownOneFallsBackToEnglishWithANote()
    {
        Assert.Equal("de", Build(Snapshot(), "de-DE").Language);
        Assert.Equal("de", Build(Snapshot(), "DE").Language);
        var fr = Build(Snapshot(), "fr");
        Assert.Equal("en", fr.Language);
        Assert.Contains("no language 'fr'", Assert.Single(fr.Notes));
        Assert.Equal("Patch or shut down", fr.Items[0].Title);
    }

    [Fact]
    public void LongListsOfNamesAreShortenedAndHostileNamesStayInert()
    {
        var hosts = Enumerable.Range(1, 8).Select(i => HostScan($"EXCH{i:00}", VerdictKind.Compromised)).ToList();
        hosts.Add(HostScan("{accounts}" + new string('x', 500), VerdictKind.Compromised));
        var c = Build(Snapshot(null, [.. hosts]));
        var reason = Assert.Single(c.Item("assume-compromise").Reasons);
        Assert.Equal("Signs of successful compromise on EXCH01, EXCH02, EXCH03, EXCH04, EXCH05 and 4 more.", reason);
        var de = Build(Snapshot(null, [.. hosts]), "de");
        Assert.EndsWith("EXCH05 und 4 weitere.", Assert.Single(de.Item("assume-compromise").Reasons));

        var one = Build(Snapshot(null, HostScan("{accounts}" + new string('x', 500), VerdictKind.Compromised))).Item("assume-compromise").Reasons[0];
        Assert.StartsWith("Signs of successful compromise on {accounts}xxx", one);
        Assert.True(one.Length < 130, one);
    }

    [Fact]
    public void EmptyCaseGivesAWholeChecklistAndAsksForAScan()
    {
        var c = Build(Snapshot());
        Assert.Equal(14, c.Items.Count);
        Assert.Equal(Need.Recommended, c.Item("ioc-hunt").Need);
        Assert.Equal(["No server has been scanned into this case yet."], c.Item("ioc-hunt").Reasons);
        Assert.Equal(ChecklistSnapshots.Shipped.Version, c.PlaybookVersion);
        Assert.All(c.Items, i => Assert.Equal(StepStates.Open, i.State));
    }
}
