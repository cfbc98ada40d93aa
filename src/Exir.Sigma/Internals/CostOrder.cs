namespace Exir.Sigma.Internals;

/// <summary>
/// Rough evaluation costs, so the parts of an "and" run cheapest first: a whole-value or suffix test before a
/// substring search before a regular expression before a keyword scan of every value. The order never changes
/// the result (and is commutative here: no part has side effects).
/// </summary>
internal static class CostOrder
{
    public static double Cost(DetectionNode node) => node switch
    {
        SelectionNode s => Cost(s.Body),
        AndNode a => a.Children.Sum(Cost),
        OrNode o => o.Children.Sum(Cost),
        NotNode n => Cost(n.Child),
        FieldTest f => Math.Max(1, f.Values.Sum(Cost)),
        ExistsTest => 0.5,
        KeywordTest => 30,
        _ => 1,
    };

    public static double Cost(ValueMatcher m) => m switch
    {
        LiteralMatcher { Op: StringOp.Contains } => 3,
        LiteralMatcher => 1,
        ContainsAnyMatcher => 4,
        WildcardMatcher => 5,
        RegexMatcher => 25,
        AnyOfMatcher a => a.Alternatives.Sum(Cost),
        _ => 2,
    };

    /// <summary>Orders every "and" in the tree, cheapest part first (stable for equal costs).</summary>
    public static DetectionNode Optimise(DetectionNode node) => node switch
    {
        AndNode a => new AndNode(a.Children.Select(Optimise).OrderBy(Cost).ToArray()),
        OrNode o => new OrNode(o.Children.Select(Optimise).ToArray()),
        NotNode n => new NotNode(Optimise(n.Child)),
        SelectionNode s => new SelectionNode(s.Name, Optimise(s.Body)),
        _ => node,
    };
}
