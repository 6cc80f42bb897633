//! The examples in README.md are real: they compile.

use std::path::Path;

use railgate_mappings::load_str;

fn yaml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn readme_examples_compile() {
    let readme = include_str!("../README.md");
    let blocks = yaml_blocks(readme);
    assert!(blocks.len() >= 3, "{} yaml blocks", blocks.len());
    let controller =
        "controllers:\n  - {name: c, modbus_tcp: {host: h}, unit: 1, address_base: 0}\n";
    for block in &blocks {
        // Fragments without controllers get one.
        let text = if block.contains("controllers:") {
            block.clone()
        } else {
            format!("{controller}{block}")
        };
        let plan =
            load_str(Path::new("README.md"), &text).unwrap_or_else(|d| panic!("{block}\n{d}"));
        assert!(!plan.controllers.is_empty());
    }
    // The complete example has what its comments claim.
    let plan = load_str(Path::new("README.md"), &blocks[0]).expect("example");
    assert!(plan.inputs.iter().any(|i| i.token == "IO-DI1"));
    assert!(plan.commands.iter().any(|c| c.command == "Arm|Panel"));
}

#[test]
fn readme_diagnostics_example_is_the_real_output() {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Diagnostics").expect("section")..];
    let mut blocks = section.split("```\n").skip(1).step_by(2);
    let input = blocks.next().expect("input block");
    let output = blocks.next().expect("output block");
    let d = load_str(Path::new("site.yaml"), input).expect_err("invalid");
    assert_eq!(format!("{d}\n"), output);
}
