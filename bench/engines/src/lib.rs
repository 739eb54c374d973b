//! The shared half of the engine benchmark: the documents of the corpus (`corpus`), and the
//! command line and timing every engine binary runs through (`run`).

pub mod corpus;
pub mod run;
