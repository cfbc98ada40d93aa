using System.Diagnostics;
using Exir.Remediation;

namespace Exir.Remediation.Tests;

/// <summary>
/// The hostile cases run as a user runs exir (a child process of the built exir.dll): a folder swapped for a link
/// while exir waits at a step (the test hook), a crafted manifest under `quarantine list`, a file named like a
/// response file, findings naming files outside the root.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public sealed class HostileQuarantineCliTests
{
    private static string ExirDll => Path.Combine(AppContext.BaseDirectory, "exir.dll");

    private static Process Start(string? cwd, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        psi.ArgumentList.Add(ExirDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    private static (int Code, string Out, string Err) Wait(Process p)
    {
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("exir did not finish"); }
        return (p.ExitCode, o.Result, e.Result);
    }

    private static (int Code, string Out, string Err) Run(string? cwd, params string[] args)
    {
        using var p = Start(cwd, null, args);
        return Wait(p);
    }

    [Fact]
    public void A_folder_swapped_for_a_link_while_exir_waits_before_the_delete_deletes_nothing_outside()
    {
        var dir = TestPaths.NewTempDir();
        var folder = Path.Combine(dir, "web", "aspnet_client");
        var shell = Path.Combine(folder, "shell.aspx");
        Directory.CreateDirectory(folder);
        File.WriteAllText(shell, "<% eval(Request[\"a\"]) %>");
        var outside = Path.Combine(dir, "outside", "shell.aspx");
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        File.WriteAllText(outside, "precious");
        var store = Path.Combine(dir, "store");
        var marker = Path.Combine(dir, "marker");
        var resume = Path.Combine(dir, "resume");
        var env = new Dictionary<string, string>
        {
            ["EXIR_QUARANTINE_TEST_HOOK"] = "verified",
            ["EXIR_QUARANTINE_TEST_MARKER"] = marker,
            ["EXIR_QUARANTINE_TEST_RESUME"] = resume,
        };
        using var p = Start(null, env, "quarantine", shell, "--store", store, "--live");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(marker) && !p.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(20);
        Assert.True(File.Exists(marker), "exir never reached the step before the delete");
        var moved = HostileQuarantineTests.SwapForLink(folder, Path.GetDirectoryName(outside)!);
        File.WriteAllText(resume, "go");
        var r = Wait(p);

        Assert.Equal(2, r.Code);
        Assert.Contains("changed", r.Err);
        Assert.Equal("precious", File.ReadAllText(outside));
        Assert.True(File.Exists(Path.Combine(moved, "shell.aspx")));
        using var s = QuarantineStore.Open(store, create: false);
        Assert.Equal(QuarantineState.Stored, Assert.Single(s.List()).State);
    }

    [Fact]
    public void A_file_named_like_a_response_file_stays_a_path_and_the_run_stays_dry()
    {
        // `exir quarantine *.aspx` in a folder holding "@x.aspx" whose content is "--live".
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "@x.aspx"), "--live");
        var shell = Path.Combine(dir, "shell.aspx");
        File.WriteAllText(shell, "<% eval(Request[\"a\"]) %>");
        var r = Run(dir, "quarantine", "@x.aspx", "shell.aspx", "--store", "store");
        Assert.Equal(1, r.Code);
        Assert.Contains("would quarantine " + Path.Combine(dir, "@x.aspx"), r.Out);
        Assert.Contains("dry run", r.Err);
        Assert.True(File.Exists(shell));
        Assert.True(File.Exists(Path.Combine(dir, "@x.aspx")));
        Assert.False(Directory.Exists(Path.Combine(dir, "store")));
    }

    [Fact]
    public void Quarantine_list_of_a_crafted_manifest_deletes_nothing()
    {
        var (store, victims, _) = HostileQuarantineTests.CraftedStore();
        var manifest = File.ReadAllBytes(Path.Combine(store, QuarantineStore.ManifestName));
        var r = Run(null, "quarantine", "list", "--store", store);
        Assert.Equal(0, r.Code);
        Assert.All(victims, v => Assert.True(File.Exists(v), $"{v} was deleted by quarantine list"));
        Assert.Equal(manifest, File.ReadAllBytes(Path.Combine(store, QuarantineStore.ManifestName)));
    }

    [Fact]
    public void Findings_naming_files_outside_the_root_move_nothing_there()
    {
        var (dir, root, findings, outside, inside) = HostileQuarantineTests.EscapingFindings();
        var r = Run(null, "quarantine", findings, "--root", root, "--store", Path.Combine(dir, "store"), "--live");
        Assert.Equal(2, r.Code);
        Assert.Contains("refused", r.Err);
        Assert.False(File.Exists(inside));
        Assert.All(outside, f => Assert.True(File.Exists(f), $"{f} outside the root was moved"));
    }
}
