namespace Exir.Detection.Files.Checks;

/// <summary>
/// Where the file is: a published web-shell drop path or name, else a script in an Exchange web folder
/// that Exchange does not ship (rules/allowlists/exchange-web-files.txt).
/// </summary>
public sealed class DropLocationCheck(FileHuntRules rules, KnownFileIocs iocs, ExchangeWebAllowList allow) : IFileCheck
{
    public void Inspect(FileUnderTest file, FileHuntReport report)
    {
        var path = file.Path;
        var inWatched = allow.RuleFor(path);
        var pathIoc = iocs.MatchPath(path) ?? (inWatched is not null && file.IsScript ? iocs.MatchName(path) : null);
        if (pathIoc is not null)
        {
            var d = file.BaseDetails();
            d["ioc"] = pathIoc.Value;
            d["ioc_context"] = pathIoc.Context;
            d["ioc_campaign"] = pathIoc.Campaign;
            d["ioc_source"] = pathIoc.Source;
            report.Report(rules.KnownShellPath, file.File, $"path matches published indicator '{pathIoc.Value}' ({pathIoc.Campaign})", d);
        }
        else if (file.IsScript && allow.IsUnexpected(path, out var rule))
        {
            var d = file.BaseDetails();
            d["watched_folder"] = rule!.Tail + (rule.Recursive ? "/**" : "");
            d["exchange_ships"] = rule.Expected.Count == 0 ? "no script files" : string.Join(", ", rule.Expected);
            report.Report(rules.UnexpectedScript, file.File, $"'{file.File.Name}' is not among the files Exchange ships in {rule.Tail}", d);
        }

    }
}
