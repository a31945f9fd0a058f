//! Mapping the config's `history` to layers, and reading each entry as the Dockerfile
//! instruction the user wrote: [`Instruction`], parsed once from `created_by`. This
//! module is the one place that reads instruction text; everything downstream matches
//! on the variants.

mod instruction;
#[cfg(test)]
mod tests_builders;

pub use instruction::{Command, Copy, Heredoc, Instruction, Run, Stage};

use crate::spec::History;

/// The history entry of each layer, in layer order. Entries marked `empty_layer` (ENV,
/// CMD, WORKDIR, ...) made no layer and are skipped; layers past the end of the history
/// (some tools write none) get `None`.
pub fn layer_history(history: &[History], layer_count: usize) -> Vec<Option<&History>> {
    let mut with_layers = history.iter().filter(|h| h.empty_layer() != Some(true));
    (0..layer_count).map(|_| with_layers.next()).collect()
}

/// The instruction as written in a Dockerfile, from a `created_by` as the classic builder
/// (`/bin/sh -c #(nop)  CMD ["bash"]`, `|2 A=1 B=2 /bin/sh -c make`) or BuildKit
/// (`RUN /bin/sh -c make # buildkit`) records it: [`Instruction::from_created_by`]'s text.
pub fn instruction(created_by: &str) -> String {
    Instruction::from_created_by(created_by).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_expose_maps() {
        assert_eq!(instruction("EXPOSE map[8000/tcp:{}]"), "EXPOSE 8000/tcp");
        assert_eq!(
            instruction("EXPOSE map[53/udp:{} 8000/tcp:{}]"),
            "EXPOSE 53/udp 8000/tcp"
        );
        assert_eq!(instruction("/bin/sh -c #(nop)  EXPOSE 80"), "EXPOSE 80");
    }

    #[test]
    fn instructions_as_written() {
        assert_eq!(instruction("/bin/sh -c #(nop)  CMD [\"bash\"]"), "CMD [\"bash\"]");
        assert_eq!(
            instruction("/bin/sh -c #(nop) ADD file:1234 in / "),
            "ADD file:1234 in /"
        );
        assert_eq!(instruction("/bin/sh -c apt-get update"), "RUN apt-get update");
        assert_eq!(
            instruction("RUN /bin/sh -c pip install -r requirements.txt # buildkit"),
            "RUN pip install -r requirements.txt"
        );
        assert_eq!(instruction("|2 A=1 B=2 /bin/sh -c make"), "RUN make");
        assert_eq!(
            instruction("RUN |1 PIP=x /bin/sh -c pip install . # buildkit"),
            "RUN pip install ."
        );
        assert_eq!(instruction("COPY . . # buildkit"), "COPY . .");
        assert_eq!(instruction("WORKDIR /app"), "WORKDIR /app");
    }

    #[test]
    fn empty_layers_are_skipped() {
        let h = |by: &str, empty: bool| {
            let mut h = History::default();
            h.set_created_by(Some(by.to_owned()));
            h.set_empty_layer(Some(empty));
            h
        };
        let history = vec![h("ADD", false), h("CMD", true), h("RUN a", false)];
        let mapped = layer_history(&history, 3);
        assert_eq!(mapped[0].unwrap().created_by().as_deref(), Some("ADD"));
        assert_eq!(mapped[1].unwrap().created_by().as_deref(), Some("RUN a"));
        assert!(mapped[2].is_none());
    }
}
