using System.Diagnostics;
using Exir.Tests;

namespace Exir.Cli.Tests;

/// <summary>Runs the real exir program (the built exir.dll) as a child process, as a user would.</summary>
internal static class ExirProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string ExirDll => Path.Combine(AppContext.BaseDirectory, "exir.dll");

    public static Result Run(params string[] args) => RunIn(TestPaths.RepoRoot, args);

    public static Result RunIn(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add(ExirDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "160";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000)) { p.Kill(true); throw new TimeoutException("exir " + string.Join(' ', args)); }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
