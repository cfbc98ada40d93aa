using Exir.Core.Coverage;

namespace Exir.Core.Tests;

public class PathGlobAndCoverageTests
{
    [Theory]
    [InlineData("**/ProgramData/McAfee/**", "/C/programdata/mcafee/x/y.zip", true)]
    [InlineData("**/ProgramData/McAfee/**", "/ProgramData/McAfeeX/y.zip", false)]
    [InlineData("owa/auth/*.aspx", "OWA/Auth/logon.ASPX", true)]
    [InlineData("owa/auth/*.aspx", "owa/auth/sub/logon.aspx", false)]
    [InlineData("a?c", "abc", true)]
    public void GlobIsCaseInsensitiveAndSegmentAware(string pattern, string path, bool expected) =>
        Assert.Equal(expected, new PathGlob(pattern).IsMatch(path));

    [Fact]
    public void FamilyCoverageTracksSpanAndGaps()
    {
        var cov = new CoverageReport();
        var fam = cov.Family("IIS W3SVC");
        fam.AddFile(100);
        var d1 = new DateTimeOffset(2021, 1, 2, 3, 0, 0, TimeSpan.Zero);
        var d2 = new DateTimeOffset(2021, 1, 9, 3, 0, 0, TimeSpan.Zero);
        fam.AddSpan(10, 1, d1, d1, [DateOnly.FromDateTime(d1.UtcDateTime)]);
        fam.AddSpan(5, 0, d2, d2, [DateOnly.FromDateTime(d2.UtcDateTime)]);
        Assert.Equal(d1, fam.First);
        Assert.Equal(d2, fam.Last);
        Assert.Equal(15, fam.Lines);
        Assert.Equal(1, fam.MalformedLines);
        var gap = Assert.Single(fam.Gaps());
        Assert.Equal(new DateOnly(2021, 1, 3), gap.From);
        Assert.Equal(new DateOnly(2021, 1, 8), gap.To);
    }

    [Fact]
    public void IssueListIsCappedButCountsStayExact()
    {
        var cov = new CoverageReport();
        for (int i = 0; i < 10_500; i++) cov.AddIssue(IssueKind.Malformed, "f", "bad");
        Assert.Equal(10_500, cov.IssueCounts[IssueKind.Malformed]);
        Assert.True(cov.Issues.Count <= 10_000);
    }
}
