using System.Management.Automation.Language;

namespace PSSocket
{
    /// <summary>
    /// A server's script block as text that another runspace can re-create, with the values of its
    /// <c>$using:</c> references captured when the server starts (as ThreadJob and
    /// ForEach-Object -Parallel capture them). Each reference is rewritten to a variable the
    /// serving runspace sets before the block runs; every client sees the same captured objects.
    /// </summary>
    internal sealed class ServerScript
    {
        private const string VariablePrefix = "__PSSocketUsing_";

        private ServerScript(string text, Hashtable usingValues)
        {
            Text = text;
            UsingValues = usingValues;
        }

        /// <summary>The script text with <c>$using:</c> references rewritten.</summary>
        public string Text { get; }

        /// <summary>The variable names the rewritten text reads, with their captured values.</summary>
        public Hashtable UsingValues { get; }

        /// <summary>Captures the script block's <c>$using:</c> values from the caller's session state.</summary>
        /// <exception cref="ArgumentException">A reference that is not a plain variable, a variable that is not set, or a script block value.</exception>
        public static ServerScript Capture(ScriptBlock scriptBlock, System.Management.Automation.SessionState callerState)
        {
            string text = scriptBlock.ToString();
            var ast = Parser.ParseInput(text, out _, out _);
            var usings = ast.FindAll(a => a is UsingExpressionAst, searchNestedScriptBlocks: true)
                .Cast<UsingExpressionAst>()
                .OrderByDescending(u => u.Extent.StartOffset)
                .ToList();
            var values = new Hashtable(StringComparer.OrdinalIgnoreCase);
            if (usings.Count == 0)
            {
                return new ServerScript(text, values);
            }

            var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            var rewritten = new StringBuilder(text);
            foreach (var reference in usings)
            {
                // $using:table.n and $using:list[0] read the captured variable's member or item.
                var variable = UsingExpressionAst.ExtractUsingVariable(reference);
                if (variable is null)
                {
                    throw new ArgumentException($"{reference.Extent.Text}: only a variable can follow $using: in a server script block (assign the expression to a variable first).");
                }

                string path = variable.VariablePath.UserPath;
                if (!names.TryGetValue(path, out var name))
                {
                    name = VariablePrefix + names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    names[path] = name;
                    values[name] = ValueOf(variable, callerState);
                }

                string after = text.Substring(variable.Extent.EndOffset, reference.Extent.EndOffset - variable.Extent.EndOffset);
                rewritten.Remove(reference.Extent.StartOffset, reference.Extent.EndOffset - reference.Extent.StartOffset);
                rewritten.Insert(reference.Extent.StartOffset, "${" + name + "}" + after);
            }

            return new ServerScript(rewritten.ToString(), values);
        }

        private static object? ValueOf(VariableExpressionAst variable, System.Management.Automation.SessionState callerState)
        {
            string path = variable.VariablePath.UserPath;
            object? value;
            if (variable.VariablePath.IsDriveQualified && !variable.VariablePath.IsVariable)
            {
                value = callerState.PSVariable.GetValue(path);
            }
            else
            {
                var found = callerState.PSVariable.Get(path)
                    ?? throw new ArgumentException($"The value of $using:{path} cannot be captured because the variable is not set where Start-SocketServer runs.");
                value = found.Value;
            }

            if ((value is PSObject pso ? pso.BaseObject : value) is ScriptBlock)
            {
                throw new ArgumentException($"$using:{path} holds a script block, which belongs to this runspace and cannot run on the server's. Pass its text and create it with [scriptblock]::Create() inside.");
            }

            return value;
        }
    }
}
