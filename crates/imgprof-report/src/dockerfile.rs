//! Finding the Dockerfile line of the instruction that made a layer, from the history
//! text (`RUN apt-get ...`, `COPY . .`): the final stage's instructions are parsed into
//! [`Instruction`]s like history's, normalised the way BuildKit records them
//! (continuations joined, whitespace folded, keywords upper-case, the `--chown`,
//! `--chmod`, `--from`, `--link`, `--parents` flags of COPY and the flags of RUN dropped,
//! a JSON COPY as its words) and matched in order.

use imgprof_source::history::Instruction;

/// One instruction of a Dockerfile with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileInstruction {
    pub line: usize,
    /// As written, continuations joined and whitespace folded (in [`final_stage`]:
    /// normalised as history records it).
    pub text: String,
    /// The instruction as written, parsed into the type history's entries parse to.
    pub instruction: Instruction,
}

/// Every instruction of a Dockerfile as written, with its first line: continuations
/// joined, whitespace folded, comments dropped, flags kept.
pub fn instructions(dockerfile: &str) -> Vec<DockerfileInstruction> {
    let mut instructions: Vec<DockerfileInstruction> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in dockerfile.lines().enumerate() {
        let line = raw.trim();
        if current.is_none() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if current.is_some() && line.starts_with('#') {
            continue; // comments inside a continued instruction
        }
        let (continued, body) = match line.strip_suffix('\\') {
            Some(body) => (true, body),
            None => (false, line),
        };
        let entry = current.get_or_insert_with(|| (index + 1, String::new()));
        entry.1.push(' ');
        entry.1.push_str(body);
        if !continued && let Some((line, text)) = current.take() {
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            instructions.push(DockerfileInstruction {
                line,
                instruction: Instruction::parse(&text),
                text,
            });
        }
    }
    instructions
}

/// Where the final stage starts in `instructions`: its `FROM`, if there is one.
pub fn final_stage_start(instructions: &[DockerfileInstruction]) -> Option<usize> {
    instructions
        .iter()
        .rposition(|i| matches!(i.instruction, Instruction::From(_)))
}

/// The instructions of the final stage, its `FROM` first, normalised as history records
/// them.
pub fn final_stage(dockerfile: &str) -> Vec<DockerfileInstruction> {
    let mut all = instructions(dockerfile);
    let start = final_stage_start(&all).unwrap_or(0);
    all.split_off(start)
        .into_iter()
        .map(|i| DockerfileInstruction {
            line: i.line,
            text: normalized(i.instruction.clone()),
            instruction: i.instruction,
        })
        .collect()
}

/// The Dockerfile line of each layer instruction (`None` where nothing matches), each
/// Dockerfile instruction used at most once, in order.
pub fn match_layers(instructions: &[DockerfileInstruction], layers: &[Option<String>]) -> Vec<Option<usize>> {
    let mut next = 0;
    layers
        .iter()
        .map(|layer| {
            let wanted = normalized(Instruction::parse(layer.as_deref()?));
            let found = instructions[next..].iter().position(|i| i.text == wanted)?;
            let line = instructions[next + found].line;
            next += found + 1;
            Some(line)
        })
        .collect()
}

/// The instruction as BuildKit records it: the flags it leaves out of history dropped,
/// whitespace folded.
fn normalized(mut instruction: Instruction) -> String {
    match &mut instruction {
        Instruction::Copy(copy) => {
            copy.flags.retain(|f| {
                !["--chown=", "--chmod=", "--from=", "--link", "--parents"]
                    .iter()
                    .any(|drop| f.starts_with(drop))
            });
            copy.json = None;
        }
        Instruction::Run(run) => run.flags.clear(),
        _ => {}
    }
    instruction.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stage_and_matching() {
        let dockerfile = "# syntax=docker/dockerfile:1\nFROM x AS builder\nRUN make\n\nFROM debian:bookworm-slim\nRUN apt-get update \\\n    && apt-get install -y python3\nCOPY --chown=app:app main.py ./\nCOPY --from=builder /opt/venv /opt/venv\n";
        let stage = final_stage(dockerfile);
        assert_eq!(stage.len(), 4);
        assert_eq!(stage[0].text, "FROM debian:bookworm-slim");
        assert_eq!(stage[1].line, 6);
        assert_eq!(stage[1].text, "RUN apt-get update && apt-get install -y python3");
        let layers = vec![
            Some("ADD file:abc in /".to_owned()),
            Some("RUN apt-get update && apt-get install -y python3".to_owned()),
            Some("COPY main.py ./".to_owned()),
            Some("COPY /opt/venv /opt/venv".to_owned()),
        ];
        assert_eq!(match_layers(&stage, &layers), vec![None, Some(6), Some(8), Some(9)]);
        assert!(matches!(stage[2].instruction, Instruction::Copy(ref c) if c.chown() == Some("app:app")));
    }

    #[test]
    fn matching_reads_the_instruction_not_its_spelling() {
        let dockerfile = "from debian:bookworm-slim as app
run apt-get update
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
COPY [\"src\", \"/app/\"]
copy --link . /app
";
        let stage = final_stage(dockerfile);
        assert_eq!(stage.len(), 5);
        let layers: Vec<Option<String>> = [
            "RUN apt-get update",
            "RUN pip install -r requirements.txt",
            "COPY src /app/",
            "COPY . /app",
        ]
        .iter()
        .map(|l| Some(l.to_string()))
        .collect();
        assert_eq!(match_layers(&stage, &layers), vec![Some(2), Some(3), Some(4), Some(5)]);
    }
}
